/*
 * Checkpoints (format in rtu_ckpt.h). Bytes are written and read one at a time with shifts, so the
 * format is the same on every host whatever its endianness or alignment; a real goes through the
 * unsigned integer of its width by memcpy. No heap, no globals, no stdio.
 */
#include <math.h>
#include <string.h>

#include "rtu_ckpt.h"
#include "rtu_internal.h"

#define MAGIC_BYTES 8u
/* "RTUEDGE\0" read as a little-endian u64 (an immediate: no data section) */
#define MAGIC_U64 0x0045474445555452u
#define U32_BYTES 4u
#define HEADER_TAIL (RTU_CKPT_HEADER_BYTES + RTU_CKPT_CRC_BYTES)

#ifdef RTU_DOUBLE
#define REAL_BYTES 8u
#define RTU_FABS fabs
#else
#define REAL_BYTES 4u
#define RTU_FABS fabsf
#endif

/* ------------------------------------------------------------------------------------------ */
/* Bytes                                                                                       */

static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t bytes)
{
    size_t i;
    int bit;
    for (i = 0; i < bytes; ++i) {
        crc ^= p[i];
        for (bit = 0; bit < 8; ++bit) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return crc;
}

uint32_t rtu_crc32(const void *data, size_t bytes)
{
    if (data == NULL) {
        return 0;
    }
    return ~crc_update(0xFFFFFFFFu, (const unsigned char *)data, bytes);
}

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xFFu);
    p[1] = (unsigned char)((v >> 8) & 0xFFu);
    p[2] = (unsigned char)((v >> 16) & 0xFFu);
    p[3] = (unsigned char)((v >> 24) & 0xFFu);
}

static void put_u64(unsigned char *p, uint64_t v)
{
    put_u32(p, (uint32_t)(v & 0xFFFFFFFFu));
    put_u32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t get_u64(const unsigned char *p)
{
    return (uint64_t)get_u32(p) | ((uint64_t)get_u32(p + 4) << 32);
}

static int magic_ok(const unsigned char *p)
{
    return get_u64(p) == (uint64_t)MAGIC_U64;
}

static void put_real(unsigned char *p, rtu_real v)
{
#ifdef RTU_DOUBLE
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_u64(p, u);
#else
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    put_u32(p, u);
#endif
}

static rtu_real get_real(const unsigned char *p)
{
    rtu_real v;
#ifdef RTU_DOUBLE
    uint64_t u = get_u64(p);
#else
    uint32_t u = get_u32(p);
#endif
    memcpy(&v, &u, sizeof v);
    return v;
}

/* ------------------------------------------------------------------------------------------ */
/* Framing                                                                                     */

rtu_status rtu_ckpt_inspect(const void *in, size_t in_bytes, rtu_ckpt_header *header)
{
    const unsigned char *p = (const unsigned char *)in;
    uint64_t payload;
    size_t body;
    if (in == NULL || header == NULL) {
        return RTU_ERR_NULL;
    }
    if (in_bytes < MAGIC_BYTES) {
        return RTU_ERR_CKPT_TRUNCATED;
    }
    if (!magic_ok(p)) {
        return RTU_ERR_CKPT_MAGIC;
    }
    if (in_bytes < MAGIC_BYTES + U32_BYTES) {
        return RTU_ERR_CKPT_TRUNCATED;
    }
    if (get_u32(p + 8) != RTU_CKPT_VERSION) {
        return RTU_ERR_CKPT_VERSION;
    }
    if (in_bytes < HEADER_TAIL) {
        return RTU_ERR_CKPT_TRUNCATED;
    }
    payload = get_u64(p + 48);
    if (payload > (uint64_t)(in_bytes - HEADER_TAIL)) { /* never trusted beyond in_bytes */
        return RTU_ERR_CKPT_TRUNCATED;
    }
    body = RTU_CKPT_HEADER_BYTES + (size_t)payload;
    if (~crc_update(0xFFFFFFFFu, p, body) != get_u32(p + body)) {
        return RTU_ERR_CKPT_CRC;
    }
    header->version = get_u32(p + 8);
    header->learner_type = get_u32(p + 12);
    header->precision = get_u32(p + 16);
    header->kind = get_u32(p + 20);
    header->activation = get_u32(p + 24);
    header->n_in = get_u32(p + 28);
    header->n_hidden = get_u32(p + 32);
    header->optimizer = get_u32(p + 36);
    header->steps = get_u64(p + 40);
    header->payload_bytes = payload;
    return RTU_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Shared by every learner type                                                                */

#define MAX_ARRAYS 12
#define MISMATCH "another learner type, precision, kind, activation, size or action space"

/* The cell's arrays of a payload, in order (params; c, d, h; unit traces; weight traces), appended
 * at ptr[k], count[k]. Returns the new k. */
static size_t cell_arrays(const rtu_cell *cell, rtu_real **ptr, size_t *count, size_t k)
{
    size_t n = cell->n_hidden, nd = n * cell->n_in;
    ptr[k] = cell->params;  count[k++] = cell->n_params;
    ptr[k] = cell->c;       count[k++] = 4 * n; /* c, d, h are contiguous */
    ptr[k] = cell->dc_dnu;  count[k++] = 4 * n; /* dc_dnu .. dd_dtheta are contiguous */
    ptr[k] = cell->dc_dwc;  count[k++] = (cell->kind == RTU_KIND_NONLINEAR ? 4 : 2) * nd;
    return k;
}

/* What a loader's *what says of a non-finite array k of cell_arrays then td_arrays or ac_arrays
 * (a switch, not a table: the core keeps no data, not even constant pointers). */
static const char *nonfinite_name(uint32_t type, size_t k)
{
    switch (k) {
    case 0: return "NaN or Inf in params";
    case 1: return "NaN or Inf in state";
    case 2: return "NaN or Inf in traces_unit";
    case 3: return "NaN or Inf in traces_weight";
    case 4: return type == RTU_LEARNER_TD ? "NaN or Inf in head" : "NaN or Inf in value";
    case 5: return type == RTU_LEARNER_TD ? "NaN or Inf in z" : "NaN or Inf in policy";
    case 6: return "NaN or Inf in z_v";
    case 7: return "NaN or Inf in z_pi";
    case 8: return "NaN or Inf in obs_mean";
    case 9: return "NaN or Inf in obs_m2";
    case 10: return "NaN or Inf in x";
    default: return "NaN or Inf in obs_last";
    }
}

/* Set *what (what may be NULL) and return status. */
static rtu_status fault(const char **what, const char *text, rtu_status status)
{
    if (what != NULL) {
        *what = text;
    }
    return status;
}

static size_t total_reals(const size_t *count, size_t m)
{
    size_t k, reals = 0;
    for (k = 0; k < m; ++k) {
        reals += count[k];
    }
    return reals;
}

/* The header of a checkpoint of learner type type for cell; returns where the payload starts. */
static unsigned char *put_header(unsigned char *p, uint32_t type, const rtu_cell *cell,
                                 rtu_optimizer optimizer, uint64_t steps, size_t payload)
{
    put_u64(p, (uint64_t)MAGIC_U64);
    put_u32(p + 8, RTU_CKPT_VERSION);
    put_u32(p + 12, type);
    put_u32(p + 16, REAL_BYTES);
    put_u32(p + 20, (uint32_t)cell->kind);
    put_u32(p + 24, (uint32_t)cell->activation);
    put_u32(p + 28, (uint32_t)cell->n_in);
    put_u32(p + 32, (uint32_t)cell->n_hidden);
    put_u32(p + 36, (uint32_t)optimizer);
    put_u64(p + 40, steps);
    put_u64(p + 48, (uint64_t)payload);
    return p + RTU_CKPT_HEADER_BYTES;
}

/* A header of learner type type, this build's precision, cell's configuration, payload bytes. */
static int header_matches(const rtu_ckpt_header *h, uint32_t type, const rtu_cell *cell,
                          size_t payload)
{
    return h->learner_type == type && h->precision == REAL_BYTES &&
           h->kind == (uint32_t)cell->kind && h->activation == (uint32_t)cell->activation &&
           (uint64_t)h->n_in == (uint64_t)cell->n_in &&
           (uint64_t)h->n_hidden == (uint64_t)cell->n_hidden &&
           h->payload_bytes == (uint64_t)payload;
}

/* The configs as stored (q: the TD payload; q, r: the actor-critic's integers and reals). The
 * header's optimizer must already be known to be 0 or 1. Validity is the learners' own
 * rtu_td_check_config / rtu_ac_check_config, the rules their init applies. */
static rtu_td_config td_config_at(const unsigned char *r, uint32_t optimizer)
{
    rtu_td_config c;
    size_t i = 0;
#define GET_REAL(name, value, rule, obgd_only) c.name = get_real(r + REAL_BYTES * i++);
    RTU_TD_CONFIG_REALS(GET_REAL)
    c.optimizer = optimizer == RTU_OPT_OBGD ? RTU_OPT_OBGD : RTU_OPT_SGD;
    return c;
}

/* The flags (0 or 1 each) follow the action space in the actor-critic's integers. */
#define AC_FLAGS_AT 8u
#define AC_FLAG_BYTES (U32_BYTES * RTU_AC_CONFIG_FLAG_COUNT)

static rtu_ac_config ac_config_at(const unsigned char *q, const unsigned char *r,
                                  uint32_t optimizer)
{
    rtu_ac_config c;
    size_t i = 0;
    RTU_AC_CONFIG_REALS(GET_REAL)
    c.optimizer = optimizer == RTU_OPT_OBGD ? RTU_OPT_OBGD : RTU_OPT_SGD;
    i = 0;
#define GET_FLAG(name, value) c.name = get_u32(q + AC_FLAGS_AT + U32_BYTES * i++) != 0;
    RTU_AC_CONFIG_FLAGS(GET_FLAG)
    return c;
}

/* Write a config's reals at r (and the actor-critic's flags at q + AC_FLAGS_AT). */
#define PUT_REAL(name, value, rule, obgd_only) put_real(r + REAL_BYTES * i++, config->name);
#define PUT_FLAG(name, value) put_u32(q + AC_FLAGS_AT + U32_BYTES * i++, config->name ? 1u : 0u);

static void put_td_config(unsigned char *r, const rtu_td_config *config)
{
    size_t i = 0;
    RTU_TD_CONFIG_REALS(PUT_REAL)
}

static void put_ac_config(unsigned char *q, unsigned char *r, const rtu_ac_config *config)
{
    size_t i = 0;
    RTU_AC_CONFIG_REALS(PUT_REAL)
    i = 0;
    RTU_AC_CONFIG_FLAGS(PUT_FLAG)
}

static int all_finite_at(const unsigned char *p, size_t count)
{
    size_t i;
    for (i = 0; i < count; ++i) {
        if (!isfinite(get_real(p + REAL_BYTES * i))) {
            return 0;
        }
    }
    return 1;
}

/* The arrays at q (laid out as count says; the cell's four, then the learner's, named by
 * nonfinite_name) all finite, then |nu_log|, |theta_log| (the first 2n reals, the cell's params) in
 * range; *what names the first fault. */
static rtu_status check_arrays(const unsigned char *q, const size_t *count, size_t m, size_t n,
                               uint32_t type, const char **what)
{
    size_t k;
    for (k = 0; k < m; ++k) {
        if (!all_finite_at(q, count[k])) {
            return fault(what, nonfinite_name(type, k), RTU_ERR_NONFINITE_PARAM);
        }
        q += REAL_BYTES * count[k];
    }
    q -= REAL_BYTES * total_reals(count, m);
    for (k = 0; k < 2 * n; ++k) {
        if (RTU_FABS(get_real(q + REAL_BYTES * k)) > (rtu_real)RTU_LOG_PARAM_LIMIT) {
            return fault(what, "|nu_log| or |theta_log| beyond RTU_LOG_PARAM_LIMIT (20)",
                         RTU_ERR_PARAM_RANGE);
        }
    }
    return RTU_OK;
}

static void put_arrays(unsigned char *q, rtu_real *const *ptr, const size_t *count, size_t m)
{
    size_t k, i;
    for (k = 0; k < m; ++k) {
        for (i = 0; i < count[k]; ++i) {
            put_real(q, ptr[k][i]);
            q += REAL_BYTES;
        }
    }
}

static void get_arrays(const unsigned char *q, rtu_real *const *ptr, const size_t *count,
                       size_t m)
{
    size_t k, i;
    for (k = 0; k < m; ++k) {
        for (i = 0; i < count[k]; ++i) {
            ptr[k][i] = get_real(q);
            q += REAL_BYTES;
        }
    }
}

/* A checkpoint's framing, for a loader (in non-NULL, else RTU_ERR_NULL). */
static rtu_status frame_in(const void *in, size_t in_bytes, rtu_ckpt_header *h)
{
    return in == NULL ? RTU_ERR_NULL : rtu_ckpt_inspect(in, in_bytes, h);
}

/* The start of a save: out non-NULL with room for total bytes. */
static rtu_status begin_save(const void *out, size_t out_bytes, size_t total)
{
    if (out == NULL) {
        return RTU_ERR_NULL;
    }
    return out_bytes < total ? RTU_ERR_BUFFER_SMALL : RTU_OK;
}

/* The end of a save: the CRC after the payload, then the framing read back into *h. */
static rtu_status seal(unsigned char *p, size_t payload, rtu_ckpt_header *h)
{
    put_u32(p + RTU_CKPT_HEADER_BYTES + payload, rtu_crc32(p, RTU_CKPT_HEADER_BYTES + payload));
    return rtu_ckpt_inspect(p, HEADER_TAIL + payload, h);
}

/* The outcome of a save whose bytes were checked with status: never hand out a checkpoint that
 * the loader would refuse (e.g. of a diverged learner); its magic is wiped. */
static rtu_status end_save(unsigned char *p, size_t total, rtu_status status, size_t *written)
{
    if (status != RTU_OK) {
        memset(p, 0, MAGIC_BYTES);
        return status;
    }
    if (written != NULL) {
        *written = total;
    }
    return RTU_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* What a checkpoint holds                                                                     */

/* Payload bytes of a checkpoint with these dimensions and precision R, in 64 bits (no wrap for any
 * dimensions up to RTU_MAX_DIM): the tables of rtu_ckpt.h. */
static uint64_t payload_for(const rtu_ckpt_dims *m)
{
    uint64_t n = m->n_hidden, d = m->n_in, a = m->n_actions, R = m->precision;
    uint64_t cell = 2 * n + 2 * n * d + 8 * n + (m->kind == RTU_KIND_NONLINEAR ? 4 : 2) * n * d;
    uint64_t params = 2 * n + 2 * n * d, value = 2 * n + 1;
    uint64_t policy = a * (2 * n + (m->action_kind == RTU_ACTIONS_CONTINUOUS ? 2 : 1));
    if (m->learner_type == RTU_LEARNER_TD) {
        return U32_BYTES + R * (RTU_TD_CONFIG_REAL_COUNT + 2 + cell + value + params + value);
    }
    return RTU_AC_CKPT_FIXED_BYTES +
           R * (RTU_AC_CONFIG_REAL_COUNT + 3 + cell + value + policy + (params + value) + (params + policy) + 4 * d);
}

rtu_status rtu_ckpt_read_dims(const void *in, size_t in_bytes, rtu_ckpt_dims *dims)
{
    const unsigned char *p = (const unsigned char *)in, *q;
    rtu_ckpt_header h;
    rtu_ckpt_dims m;
    rtu_status status = dims == NULL ? RTU_ERR_NULL : frame_in(in, in_bytes, &h);
    if (status != RTU_OK) {
        return status;
    }
    q = p + RTU_CKPT_HEADER_BYTES;
    m.learner_type = h.learner_type;
    m.precision = h.precision;
    m.kind = h.kind == RTU_KIND_NONLINEAR ? RTU_KIND_NONLINEAR : RTU_KIND_LINEAR;
    m.activation = (rtu_activation)(h.activation <= RTU_ACT_IDENTITY ? h.activation : 0u);
    m.n_in = h.n_in;
    m.n_hidden = h.n_hidden;
    m.action_kind = RTU_ACTIONS_DISCRETE;
    m.n_actions = 0;
    m.steps = h.steps;
    m.bytes = HEADER_TAIL + (size_t)h.payload_bytes; /* inspect bounded it by in_bytes */
    if ((h.learner_type != RTU_LEARNER_TD && h.learner_type != RTU_LEARNER_ACTOR_CRITIC) ||
        (h.precision != 4u && h.precision != 8u) || h.kind > RTU_KIND_NONLINEAR ||
        h.activation > RTU_ACT_IDENTITY || h.n_in < 1u || h.n_in > RTU_MAX_DIM ||
        h.n_hidden < 1u || h.n_hidden > RTU_MAX_DIM) {
        return RTU_ERR_CKPT_MISMATCH;
    }
    if (h.learner_type == RTU_LEARNER_ACTOR_CRITIC) {
        if (h.payload_bytes < 8u || get_u32(q) > RTU_ACTIONS_CONTINUOUS) {
            return RTU_ERR_CKPT_MISMATCH;
        }
        m.action_kind = (rtu_action_kind)get_u32(q);
        m.n_actions = get_u32(q + 4);
        if (m.n_actions < (m.action_kind == RTU_ACTIONS_DISCRETE ? 2u : 1u) ||
            m.n_actions > RTU_MAX_DIM) {
            return RTU_ERR_CKPT_MISMATCH;
        }
    }
    if (payload_for(&m) != h.payload_bytes) {
        return RTU_ERR_CKPT_MISMATCH;
    }
    *dims = m;
    return RTU_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* TD(lambda)                                                                                  */

#define TD_SCALARS (RTU_TD_CONFIG_REAL_COUNT + 2u) /* the config's reals, v_prev, z_norm1 */
#define TD_LEAD (TD_SCALARS * REAL_BYTES + U32_BYTES) /* then has_prev */

/* The arrays of a TD payload, in order. Returns how many. */
static size_t td_arrays(const rtu_td *td, rtu_real **ptr, size_t *count)
{
    size_t k = cell_arrays(&td->cell, ptr, count, 0);
    ptr[k] = td->head;      count[k++] = 2 * td->cell.n_hidden + 1;
    ptr[k] = td->z;         count[k++] = td->n_params;
    return k;
}

static size_t td_payload_bytes(const rtu_td *td)
{
    rtu_real *ptr[MAX_ARRAYS];
    size_t count[MAX_ARRAYS], m = td_arrays(td, ptr, count);
    return TD_LEAD + REAL_BYTES * total_reals(count, m);
}

static rtu_status check_td(const rtu_td *td)
{
    if (td == NULL || td->cell.params == NULL || td->head == NULL || td->z == NULL) {
        return RTU_ERR_NULL;
    }
    return RTU_OK;
}

rtu_status rtu_td_checkpoint_size(const rtu_td *td, size_t *bytes)
{
    rtu_status status = check_td(td);
    if (status == RTU_OK && bytes == NULL) {
        status = RTU_ERR_NULL;
    }
    if (status != RTU_OK) {
        return status;
    }
    *bytes = HEADER_TAIL + td_payload_bytes(td);
    return RTU_OK;
}

/* Everything rtu_td_load checks, on a checkpoint whose framing rtu_ckpt_inspect accepted; td is
 * only read (for the configuration it must match). */
static rtu_status validate_td(const rtu_td *td, const unsigned char *p, const rtu_ckpt_header *h,
                              const char **what)
{
    rtu_real *ptr[MAX_ARRAYS];
    size_t count[MAX_ARRAYS], m = td_arrays(td, ptr, count);
    const unsigned char *q = p + RTU_CKPT_HEADER_BYTES;
    rtu_td_config config;

    if (!header_matches(h, RTU_LEARNER_TD, &td->cell, td_payload_bytes(td))) {
        return fault(what, MISMATCH, RTU_ERR_CKPT_MISMATCH);
    }
    /* config, in the ranges rtu_td_init accepts */
    if (!all_finite_at(q, TD_SCALARS)) {
        return fault(what, "a non-finite hyperparameter, v_prev or z_norm1",
                     RTU_ERR_NONFINITE_PARAM);
    }
    if (h->optimizer > RTU_OPT_OBGD) {
        return fault(what, "optimizer", RTU_ERR_CONFIG);
    }
    config = td_config_at(q, h->optimizer);
    if (rtu_td_check_config(&config, what) != RTU_OK) {
        return RTU_ERR_CONFIG;
    }
    if (get_u32(q + TD_SCALARS * REAL_BYTES) > 1) {
        return fault(what, "has_prev (0 or 1)", RTU_ERR_CONFIG);
    }
    return check_arrays(q + TD_LEAD, count, m, td->cell.n_hidden, RTU_LEARNER_TD, what);
}

rtu_status rtu_td_load(rtu_td *td, const void *in, size_t in_bytes)
{
    const unsigned char *p = (const unsigned char *)in, *q;
    rtu_ckpt_header h;
    rtu_real *ptr[MAX_ARRAYS];
    size_t count[MAX_ARRAYS], m;
    rtu_status status = check_td(td);
    if (status == RTU_OK) {
        status = frame_in(in, in_bytes, &h);
    }
    if (status == RTU_OK) {
        status = validate_td(td, p, &h, NULL);
    }
    if (status != RTU_OK) {
        return status; /* td untouched */
    }
    q = p + RTU_CKPT_HEADER_BYTES;
    td->config = td_config_at(q, h.optimizer);
    td->v_prev = get_real(q + (TD_SCALARS - 2) * REAL_BYTES);
    td->z_norm1 = get_real(q + (TD_SCALARS - 1) * REAL_BYTES);
    td->has_prev = get_u32(q + TD_SCALARS * REAL_BYTES) != 0;
    td->steps = h.steps;
    m = td_arrays(td, ptr, count);
    get_arrays(q + TD_LEAD, ptr, count, m);
    return rtu_cell_refresh(&td->cell); /* validated above: cannot fail */
}

rtu_status rtu_td_save(const rtu_td *td, void *out, size_t out_bytes, size_t *written)
{
    unsigned char *p = (unsigned char *)out, *q;
    rtu_real *ptr[MAX_ARRAYS];
    size_t count[MAX_ARRAYS], m, payload = 0, total = 0;
    rtu_ckpt_header h;
    rtu_status status = check_td(td);
    if (written != NULL) {
        *written = 0;
    }
    if (status == RTU_OK) {
        payload = td_payload_bytes(td);
        total = HEADER_TAIL + payload;
        status = begin_save(out, out_bytes, total);
    }
    if (status != RTU_OK) {
        return status;
    }
    q = put_header(p, RTU_LEARNER_TD, &td->cell, td->config.optimizer, td->steps, payload);
    put_td_config(q, &td->config);
    put_real(q + (TD_SCALARS - 2) * REAL_BYTES, td->v_prev);
    put_real(q + (TD_SCALARS - 1) * REAL_BYTES, td->z_norm1);
    put_u32(q + TD_SCALARS * REAL_BYTES, td->has_prev ? 1u : 0u);
    m = td_arrays(td, ptr, count);
    put_arrays(q + TD_LEAD, ptr, count, m);
    status = seal(p, payload, &h);
    if (status == RTU_OK) {
        status = validate_td(td, p, &h, NULL);
    }
    return end_save(p, total, status, written);
}

/* ------------------------------------------------------------------------------------------ */
/* Actor-critic                                                                                */

#define AC_FIXED RTU_AC_CKPT_FIXED_BYTES
#define AC_SCALARS (RTU_AC_CONFIG_REAL_COUNT + 3u) /* the config's, ret_trace, ret_mean, ret_m2 */
/* The actor-critic's integers: action kind, n_actions, the flags, fed, acted (u32), then episodes,
 * obs_count, ret_count, PRNG state and increment (u64). */
#define AC_FED_AT (AC_FLAGS_AT + AC_FLAG_BYTES)
#define AC_ACTED_AT (AC_FED_AT + U32_BYTES)
#define AC_EPISODES_AT (AC_ACTED_AT + U32_BYTES)
#define AC_U64_AT(k) (AC_EPISODES_AT + 8u * (k)) /* 0 episodes .. 4 PRNG increment */
#define AC_LEAD (AC_FIXED + AC_SCALARS * REAL_BYTES)

/* The arrays of an actor-critic payload, in order. Returns how many. */
static size_t ac_arrays(const rtu_ac *ac, rtu_real **ptr, size_t *count)
{
    size_t k = cell_arrays(&ac->cell, ptr, count, 0), p_cell = ac->cell.n_params;
    ptr[k] = ac->value;     count[k++] = ac->n_value - p_cell;
    ptr[k] = ac->policy;    count[k++] = ac->n_policy - p_cell;
    ptr[k] = ac->z_v;       count[k++] = ac->n_value;
    ptr[k] = ac->z_pi;      count[k++] = ac->n_policy;
    ptr[k] = ac->obs_mean;  count[k++] = ac->cell.n_in;
    ptr[k] = ac->obs_m2;    count[k++] = ac->cell.n_in;
    ptr[k] = ac->x;         count[k++] = ac->cell.n_in;
    ptr[k] = ac->obs_last;  count[k++] = ac->cell.n_in;
    return k;
}

static size_t ac_payload_bytes(const rtu_ac *ac)
{
    rtu_real *ptr[MAX_ARRAYS];
    size_t count[MAX_ARRAYS], m = ac_arrays(ac, ptr, count);
    return AC_LEAD + REAL_BYTES * total_reals(count, m);
}

static rtu_status check_ac(const rtu_ac *ac)
{
    if (ac == NULL || ac->cell.params == NULL || ac->value == NULL || ac->policy == NULL ||
        ac->z_v == NULL || ac->z_pi == NULL || ac->obs_mean == NULL || ac->obs_m2 == NULL ||
        ac->x == NULL || ac->obs_last == NULL) {
        return RTU_ERR_NULL;
    }
    return RTU_OK;
}

rtu_status rtu_ac_checkpoint_size(const rtu_ac *ac, size_t *bytes)
{
    rtu_status status = check_ac(ac);
    if (status == RTU_OK && bytes == NULL) {
        status = RTU_ERR_NULL;
    }
    if (status != RTU_OK) {
        return status;
    }
    *bytes = HEADER_TAIL + ac_payload_bytes(ac);
    return RTU_OK;
}

/* Everything rtu_ac_load checks, on a checkpoint whose framing rtu_ckpt_inspect accepted; ac is
 * only read (for the configuration it must match). */
static rtu_status validate_ac(const rtu_ac *ac, const unsigned char *p, const rtu_ckpt_header *h,
                              const char **what)
{
    rtu_real *ptr[MAX_ARRAYS];
    size_t count[MAX_ARRAYS], m = ac_arrays(ac, ptr, count);
    const unsigned char *q = p + RTU_CKPT_HEADER_BYTES, *r = q + AC_FIXED;
    rtu_ac_config config;
    rtu_status status;
    size_t i;

    /* the payload length first: it bounds every read below */
    if (!header_matches(h, RTU_LEARNER_ACTOR_CRITIC, &ac->cell, ac_payload_bytes(ac)) ||
        get_u32(q) != (uint32_t)ac->action_kind ||
        (uint64_t)get_u32(q + 4) != (uint64_t)ac->n_actions) {
        return fault(what, MISMATCH, RTU_ERR_CKPT_MISMATCH);
    }
    /* config and statistics, in the ranges rtu_ac_init accepts */
    if (!all_finite_at(r, AC_SCALARS)) {
        return fault(what, "a non-finite hyperparameter, ret_trace, ret_mean or ret_m2",
                     RTU_ERR_NONFINITE_PARAM);
    }
    if (h->optimizer > RTU_OPT_OBGD) {
        return fault(what, "optimizer", RTU_ERR_CONFIG);
    }
    config = ac_config_at(q, r, h->optimizer);
    i = 0;
#define CHECK_FLAG(name, value)                                                                    \
    if (get_u32(q + AC_FLAGS_AT + U32_BYTES * i++) > 1) {                                          \
        return fault(what, #name " (0 or 1)", RTU_ERR_CONFIG);                                     \
    }
    RTU_AC_CONFIG_FLAGS(CHECK_FLAG)
    if (rtu_ac_check_config(&config, what) != RTU_OK) {
        return RTU_ERR_CONFIG;
    }
    if (get_u32(q + AC_FED_AT) > 1 || get_u32(q + AC_ACTED_AT) > 1) {
        return fault(what, get_u32(q + AC_FED_AT) > 1 ? "fed (0 or 1)" : "acted (0 or 1)",
                     RTU_ERR_CONFIG);
    }
    if ((get_u64(q + AC_U64_AT(4)) & 1u) == 0) {
        return fault(what, "an even PRNG increment (PCG32 needs it odd)", RTU_ERR_CONFIG);
    }
    status = check_arrays(q + AC_LEAD, count, m, ac->cell.n_hidden, RTU_LEARNER_ACTOR_CRITIC,
                          what);
    if (status == RTU_OK && get_u32(q + AC_ACTED_AT) != 0) {
        status = fault(what, "taken between act and learn (acted = 1); checkpoints are taken "
                             "after learn", RTU_ERR_ORDER);
    }
    return status;
}

rtu_status rtu_ac_load(rtu_ac *ac, const void *in, size_t in_bytes)
{
    const unsigned char *p = (const unsigned char *)in, *q, *r;
    rtu_ckpt_header h;
    rtu_real *ptr[MAX_ARRAYS];
    size_t count[MAX_ARRAYS], m;
    rtu_status status = check_ac(ac);
    if (status == RTU_OK) {
        status = frame_in(in, in_bytes, &h);
    }
    if (status == RTU_OK) {
        status = validate_ac(ac, p, &h, NULL);
    }
    if (status != RTU_OK) {
        return status; /* ac untouched */
    }
    q = p + RTU_CKPT_HEADER_BYTES;
    r = q + AC_FIXED;
    ac->config = ac_config_at(q, r, h.optimizer);
    ac->fed = get_u32(q + AC_FED_AT) != 0;
    ac->acted = 0; /* validated above */
    ac->episodes = get_u64(q + AC_U64_AT(0));
    ac->obs_count = get_u64(q + AC_U64_AT(1));
    ac->ret_count = get_u64(q + AC_U64_AT(2));
    ac->rng.state = get_u64(q + AC_U64_AT(3));
    ac->rng.inc = get_u64(q + AC_U64_AT(4));
    ac->ret_trace = get_real(r + (AC_SCALARS - 3) * REAL_BYTES);
    ac->ret_mean = get_real(r + (AC_SCALARS - 2) * REAL_BYTES);
    ac->ret_m2 = get_real(r + (AC_SCALARS - 1) * REAL_BYTES);
    ac->steps = h.steps;
    m = ac_arrays(ac, ptr, count);
    get_arrays(q + AC_LEAD, ptr, count, m);
    return rtu_cell_refresh(&ac->cell); /* validated above: cannot fail */
}

rtu_status rtu_ac_save(const rtu_ac *ac, void *out, size_t out_bytes, size_t *written)
{
    unsigned char *p = (unsigned char *)out, *q, *r;
    rtu_real *ptr[MAX_ARRAYS];
    size_t count[MAX_ARRAYS], m, payload = 0, total = 0;
    rtu_ckpt_header h;
    rtu_status status = check_ac(ac);
    if (written != NULL) {
        *written = 0;
    }
    if (status == RTU_OK) {
        payload = ac_payload_bytes(ac);
        total = HEADER_TAIL + payload;
        status = begin_save(out, out_bytes, total);
    }
    if (status != RTU_OK) {
        return status;
    }
    q = put_header(p, RTU_LEARNER_ACTOR_CRITIC, &ac->cell, ac->config.optimizer, ac->steps,
                   payload);
    put_u32(q, (uint32_t)ac->action_kind);
    put_u32(q + 4, (uint32_t)ac->n_actions);
    put_u32(q + AC_FED_AT, ac->fed ? 1u : 0u);
    put_u32(q + AC_ACTED_AT, ac->acted ? 1u : 0u);
    put_u64(q + AC_U64_AT(0), ac->episodes);
    put_u64(q + AC_U64_AT(1), ac->obs_count);
    put_u64(q + AC_U64_AT(2), ac->ret_count);
    put_u64(q + AC_U64_AT(3), ac->rng.state);
    put_u64(q + AC_U64_AT(4), ac->rng.inc);
    r = q + AC_FIXED;
    put_ac_config(q, r, &ac->config);
    put_real(r + (AC_SCALARS - 3) * REAL_BYTES, ac->ret_trace);
    put_real(r + (AC_SCALARS - 2) * REAL_BYTES, ac->ret_mean);
    put_real(r + (AC_SCALARS - 1) * REAL_BYTES, ac->ret_m2);
    m = ac_arrays(ac, ptr, count);
    put_arrays(q + AC_LEAD, ptr, count, m);
    status = seal(p, payload, &h);
    if (status == RTU_OK) {
        status = validate_ac(ac, p, &h, NULL); /* diverged, or between act and learn */
    }
    return end_save(p, total, status, written);
}

/* ------------------------------------------------------------------------------------------ */
/* Checking without loading                                                                    */

rtu_status rtu_td_check_checkpoint(const rtu_td *td, const void *in, size_t in_bytes,
                                   const char **what)
{
    rtu_ckpt_header h;
    rtu_status status = check_td(td);
    if (status == RTU_OK) {
        status = frame_in(in, in_bytes, &h);
    }
    if (status != RTU_OK) {
        return fault(what, "", status);
    }
    return validate_td(td, (const unsigned char *)in, &h, what);
}

rtu_status rtu_ac_check_checkpoint(const rtu_ac *ac, const void *in, size_t in_bytes,
                                   const char **what)
{
    rtu_ckpt_header h;
    rtu_status status = check_ac(ac);
    if (status == RTU_OK) {
        status = frame_in(in, in_bytes, &h);
    }
    if (status != RTU_OK) {
        return fault(what, "", status);
    }
    return validate_ac(ac, (const unsigned char *)in, &h, what);
}
