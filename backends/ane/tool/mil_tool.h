/* `anetrain mil`: check a MIL program against a chip profile, or run it on the
 * emulator with raw fp16/fp32 files (a tool for kernel work). argv[0] is "mil". */
#ifndef ANE_MIL_TOOL_H
#define ANE_MIL_TOOL_H

int ane_mil_main(int argc, char **argv);

#endif
