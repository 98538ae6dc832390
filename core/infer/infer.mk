# core/infer: generating text from the fp32 weights: a KV-cache forward (kvmodel.c) and
# llama2.c run.c's sampler and generation loop (generate.c). May include core/base,
# core/config, core/data and core/formats.
anetrain_SOURCES += \
	%reldir%/kvmodel.c %reldir%/kvmodel.h \
	%reldir%/generate.c %reldir%/generate.h
