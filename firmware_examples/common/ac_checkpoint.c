/* A streaming actor-critic from a checkpoint's bytes: see ac_checkpoint.h. */
#include "ac_checkpoint.h"

rtu_status ac_from_checkpoint(rtu_ac *ac, void *buffer, size_t buffer_bytes, const void *ckpt,
                              size_t ckpt_bytes, rtu_ckpt_dims *dims)
{
    rtu_ckpt_dims d;
    rtu_ac_config config = rtu_ac_default_config(); /* replaced by the checkpoint's */
    size_t bytes = 0;
    rtu_status status = rtu_ckpt_read_dims(ckpt, ckpt_bytes, &d);
    if (status != RTU_OK) {
        return status;
    }
    if (dims != NULL) {
        *dims = d;
    }
    if (d.learner_type != RTU_LEARNER_ACTOR_CRITIC || d.precision != sizeof(rtu_real)) {
        return RTU_ERR_CKPT_MISMATCH;
    }
    status = rtu_ac_buffer_size(&d.shape, &bytes);
    if (status != RTU_OK) {
        return status;
    }
    if (bytes > buffer_bytes) {
        return RTU_ERR_BUFFER_SMALL;
    }
    status = rtu_ac_init(ac, &d.shape, &config, 0u, buffer, buffer_bytes);
    if (status != RTU_OK) {
        return status;
    }
    return rtu_ac_load(ac, ckpt, ckpt_bytes);
}
