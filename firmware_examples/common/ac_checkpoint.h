/*
 * A streaming actor-critic (c_src/rtu_ac.h) from a checkpoint's bytes, into a caller's static
 * buffer: a file read into RAM, or an array compiled into flash by `rtu-edge export --c-header`
 * (<name>_checkpoint). The firmware examples' one way to start from trained weights.
 *
 * C99, the core's rules: no heap, no globals, no stdio.
 */
#ifndef FW_AC_CHECKPOINT_H
#define FW_AC_CHECKPOINT_H

#include <stddef.h>

#include "rtu_ac.h"
#include "rtu_ckpt.h"

/* Lay out *ac in buffer (buffer_bytes, aligned to rtu_real) in the shape the checkpoint
 * (ckpt_bytes at ckpt) holds (its whole rtu_ac_shape: RTU, input layer, heads, shared trunk,
 * previous action and reward as inputs), then restore it, with the core's own calls: rtu_ckpt_read_dims, rtu_ac_buffer_size,
 * rtu_ac_init, rtu_ac_load. Returns the first error: the framing's (RTU_ERR_CKPT_*),
 * RTU_ERR_CKPT_MISMATCH for a learner other than the actor-critic or a precision other than this
 * build's, RTU_ERR_BUFFER_SMALL when the learner needs more than buffer_bytes, or rtu_ac_load's.
 * *dims (may be NULL) receives what the checkpoint holds whenever rtu_ckpt_read_dims could read it,
 * so that a caller can say why it was refused. On an error *ac is unusable: lay it out again. */
rtu_status ac_from_checkpoint(rtu_ac *ac, void *buffer, size_t buffer_bytes, const void *ckpt,
                              size_t ckpt_bytes, rtu_ckpt_dims *dims);

#endif /* FW_AC_CHECKPOINT_H */
