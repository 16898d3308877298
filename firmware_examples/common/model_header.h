/*
 * A header exported by `rtu-edge export --c-header`, compiled into a firmware example: the build
 * names it (-DFW_MODEL_HEADER='"path/to/model.h"') and, when the export was given --name NAME,
 * its prefixes (-DFW_MODEL_UPPER=NAME in capitals, -DFW_MODEL_LOWER=name in lower case). This
 * file includes it and names what the examples use under fixed names:
 *
 *   FW_MODEL(_N_HIDDEN)          the header's macro NAME_N_HIDDEN (any NAME_... macro)
 *   FW_MODEL_CHECKPOINT          the checkpoint it embeds (name_checkpoint, unsigned char[])
 *   FW_MODEL_CHECKPOINT_BYTES    its length
 *
 * The examples load the learner from FW_MODEL_CHECKPOINT with ac_from_checkpoint
 * (ac_checkpoint.h), so it must be an actor-critic's.
 */
#ifndef FW_MODEL_HEADER_H
#define FW_MODEL_HEADER_H

#ifndef FW_MODEL_HEADER
#error "model_header.h: the build names no header (-DFW_MODEL_HEADER='\"path/to/model.h\"')"
#endif
#include FW_MODEL_HEADER

#ifndef FW_MODEL_UPPER
#define FW_MODEL_UPPER MODEL
#endif
#ifndef FW_MODEL_LOWER
#define FW_MODEL_LOWER model
#endif
#define FW_MODEL_CAT(a, b) a##b
#define FW_MODEL_XCAT(a, b) FW_MODEL_CAT(a, b)
#define FW_MODEL(x) FW_MODEL_XCAT(FW_MODEL_UPPER, x)
#define FW_MODEL_CHECKPOINT FW_MODEL_XCAT(FW_MODEL_LOWER, _checkpoint)
#define FW_MODEL_CHECKPOINT_BYTES FW_MODEL(_CHECKPOINT_BYTES)

#if FW_MODEL(_LEARNER) != 2
#error "the model header is not an actor-critic's (NAME_LEARNER must be 2)"
#endif

#endif /* FW_MODEL_HEADER_H */
