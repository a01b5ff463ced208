/* Commands from a user interface to the runner: posting and freeing. */
#include "control/ui.h"

#include <stdlib.h>

#include "base/error.h"

const char *ccd_ui_state_name(ccd_ui_state_t s)
{
    static const char *names[] = {"ready", "spawning", "running", "stopping", "stopped"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "missing";
}

void ccd_ui_cmd_free(ccd_ui_cmd_t *cmd)
{
    if (!cmd)
        return;
    if (cmd->kind == CCD_UI_CALL && cmd->call)
        cmd->call(cmd->arg, NULL);
    free(cmd->host);
    for (size_t i = 0; i < cmd->nclasses; i++)
        free(cmd->classes[i]);
    free(cmd->classes);
    free(cmd);
}

int ccd_ui_post(ccd_queue_t *inbox, ccd_ui_cmd_t *cmd)
{
    ccd_msg_t m = {.type = CCD_MSG_UI, .from = -1, .ptr = cmd};
    if (ccd_queue_push(inbox, &m) == 0)
        return 0;
    ccd_ui_cmd_free(cmd);
    return CCD_ENOMEM;
}
