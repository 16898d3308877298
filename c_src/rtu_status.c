/* Status strings for rtu_status (see rtu.h), and the verdict of the config checks. */
#include "rtu.h"
#include "rtu_internal.h"

const char *rtu_status_str(rtu_status status)
{
    switch (status) {
    case RTU_OK: return "ok";
    case RTU_ERR_NULL: return "a required pointer argument is NULL";
    case RTU_ERR_SIZE:
        return "a size is 0 or too large (n_in, n_hidden: at most RTU_MAX_DIM; a batch, n_envs, "
               "n_steps: at most RTU_MAX_BATCH; a buffer: within size_t)";
    case RTU_ERR_KIND: return "cell kind is not RTU_KIND_LINEAR, RTU_KIND_NONLINEAR or RTU_KIND_LRU";
    case RTU_ERR_ACTIVATION: return "activation is not RTU_ACT_RELU, RTU_ACT_TANH or RTU_ACT_IDENTITY";
    case RTU_ERR_BUFFER_SMALL: return "buffer is smaller than the size query requires";
    case RTU_ERR_BUFFER_ALIGN: return "buffer is not aligned to rtu_real";
    case RTU_ERR_NONFINITE_INPUT: return "input contains NaN or Inf";
    case RTU_ERR_INPUT_RANGE: return "input has a value beyond +-RTU_INPUT_LIMIT (1e6)";
    case RTU_ERR_NONFINITE_PARAM: return "parameter contains NaN or Inf";
    case RTU_ERR_PARAM_RANGE:
        return "parameter out of range (|nu_log| or |theta_log| above RTU_LOG_PARAM_LIMIT; in a "
               "checkpoint, a value beyond RTU_VALUE_LIMIT or one the learner cannot reach; in a "
               "model, |lambda| >= 1 or eta outside (0, 1])";
    case RTU_ERR_INIT_RANGE:
        return "initialisation needs 0 <= r_min < r_max <= 1 and max_phase within "
               "exp(+-RTU_LOG_PARAM_LIMIT)";
    case RTU_ERR_OVERFLOW:
        return "state or its traces beyond RTU_VALUE_LIMIT (weights too large); reset the cell";
    case RTU_ERR_CONFIG:
        return "learner config needs gamma, lambda in [0, 1] and alpha, kappa > 0";
    case RTU_ERR_DIVERGED:
        return "learner parameters became non-finite or out of range; re-initialise or restore";
    case RTU_ERR_ACTION: return "action is outside the action space";
    case RTU_ERR_ORDER:
        return "act and learn must alternate, and act must get learn's next observation";
    case RTU_ERR_CKPT_TRUNCATED: return "checkpoint is truncated";
    case RTU_ERR_CKPT_MAGIC: return "not an rtu_edge checkpoint (bad magic)";
    case RTU_ERR_CKPT_VERSION: return "checkpoint format version not supported";
    case RTU_ERR_CKPT_CRC: return "checkpoint CRC32 mismatch: the file is corrupted";
    case RTU_ERR_CKPT_MISMATCH:
        return "checkpoint is of another precision, kind, size or learner";
    case RTU_STATUS_COUNT: break;
    }
    return "unknown status";
}

rtu_status rtu_config_verdict(const char *bad, const char **what)
{
    if (bad == NULL) {
        return RTU_OK;
    }
    if (what != NULL) {
        *what = bad;
    }
    return RTU_ERR_CONFIG;
}
