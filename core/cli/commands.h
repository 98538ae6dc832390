/* The subcommands. Each takes argv with argv[0] = its own name and returns the exit
 * status. */
#ifndef ANT_COMMANDS_H
#define ANT_COMMANDS_H

int cmd_train(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_vocab(int argc, char **argv);
int cmd_soak(int argc, char **argv);       /* cli/cmd_soak.c */
int cmd_backends(int argc, char **argv);   /* cli/cmd_backends.c */
int cmd_doctor(int argc, char **argv);     /* cli/cmd_doctor.c */
int ane_mil_main(int argc, char **argv);   /* ane/tool/mil_tool.c */

/* Print "anetrain CMD: msg" to stderr and return 1 (for `return fail(...)`). */
int fail(const char *cmd, const char *msg);

#endif
