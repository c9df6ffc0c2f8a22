#include "cmd.h"
int herald_cmd_inbox(int argc, char **argv) { (void)argc; (void)argv; return 70; }
