#ifndef ANT_OPS_H
#define ANT_OPS_H
void ops_dummy(void);
#endif
