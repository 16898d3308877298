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
#else
#define REAL_BYTES 4u
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

#define VERSION_AT 8u
#define TYPE_AT 12u
#define PAYLOAD_AT 48u
#define SHAPE_AT 56u /* the actor-critic's shape fields: SHAPE_FIELDS u32 */
#define SHAPE_FIELDS 8u

rtu_status rtu_ckpt_inspect(const void *in, size_t in_bytes, rtu_ckpt_header *header)
{
    const unsigned char *p = (const unsigned char *)in;
    uint32_t version, shape[SHAPE_FIELDS];
    uint64_t payload;
    size_t head, body, i;
    if (in == NULL || header == NULL) {
        return RTU_ERR_NULL;
    }
    if (in_bytes < MAGIC_BYTES) {
        return RTU_ERR_CKPT_TRUNCATED;
    }
    if (!magic_ok(p)) {
        return RTU_ERR_CKPT_MAGIC;
    }
    if (in_bytes < VERSION_AT + U32_BYTES) {
        return RTU_ERR_CKPT_TRUNCATED;
    }
    version = get_u32(p + VERSION_AT);
    if (version != RTU_CKPT_VERSION) {
        return RTU_ERR_CKPT_VERSION;
    }
    head = RTU_CKPT_HEADER_BYTES;
    if (in_bytes < head + RTU_CKPT_CRC_BYTES) {
        return RTU_ERR_CKPT_TRUNCATED;
    }
    payload = get_u64(p + PAYLOAD_AT);
    if (payload > (uint64_t)(in_bytes - head - RTU_CKPT_CRC_BYTES)) { /* never trusted beyond */
        return RTU_ERR_CKPT_TRUNCATED;
    }
    body = head + (size_t)payload;
    if (~crc_update(0xFFFFFFFFu, p, body) != get_u32(p + body)) {
        return RTU_ERR_CKPT_CRC;
    }
    for (i = 0; i < SHAPE_FIELDS; ++i) {
        shape[i] = get_u32(p + SHAPE_AT + U32_BYTES * i);
    }
    header->version = version;
    header->learner_type = get_u32(p + TYPE_AT);
    header->precision = get_u32(p + 16);
    header->kind = get_u32(p + 20);
    header->activation = get_u32(p + 24);
    header->n_in = get_u32(p + 28);
    header->n_hidden = get_u32(p + 32);
    header->optimizer = get_u32(p + 36);
    header->steps = get_u64(p + 40);
    header->payload_bytes = payload;
    header->n_embed = shape[0];
    header->n_head = shape[1];
    header->shared = shape[2];
    header->prev_action = shape[3];
    header->prev_reward = shape[4];
    header->memoryless = shape[5];
    header->action_kind = shape[6];
    header->n_actions = shape[7];
    header->header_bytes = head;
    return RTU_OK;
}

/* The header of a checkpoint of this version, at p; returns where the payload starts. */
static unsigned char *put_header(unsigned char *p, const rtu_ckpt_header *h)
{
    put_u64(p, (uint64_t)MAGIC_U64);
    put_u32(p + VERSION_AT, RTU_CKPT_VERSION);
    put_u32(p + TYPE_AT, h->learner_type);
    put_u32(p + 16, h->precision);
    put_u32(p + 20, h->kind);
    put_u32(p + 24, h->activation);
    put_u32(p + 28, h->n_in);
    put_u32(p + 32, h->n_hidden);
    put_u32(p + 36, h->optimizer);
    put_u64(p + 40, h->steps);
    put_u64(p + PAYLOAD_AT, h->payload_bytes);
    put_u32(p + SHAPE_AT, h->n_embed);
    put_u32(p + SHAPE_AT + 4, h->n_head);
    put_u32(p + SHAPE_AT + 8, h->shared);
    put_u32(p + SHAPE_AT + 12, h->prev_action);
    put_u32(p + SHAPE_AT + 16, h->prev_reward);
    put_u32(p + SHAPE_AT + 20, h->memoryless);
    put_u32(p + SHAPE_AT + 24, h->action_kind);
    put_u32(p + SHAPE_AT + 28, h->n_actions);
    return p + RTU_CKPT_HEADER_BYTES;
}

/* The header fields that must match the learner's (want, from td_header or ac_header): all but
 * the version, the optimizer (part of the config) and the step counter. */
static int header_matches(const rtu_ckpt_header *h, const rtu_ckpt_header *want)
{
    return h->learner_type == want->learner_type && h->precision == want->precision &&
           h->kind == want->kind && h->activation == want->activation &&
           h->n_in == want->n_in && h->n_hidden == want->n_hidden &&
           h->payload_bytes == want->payload_bytes && h->n_embed == want->n_embed &&
           h->n_head == want->n_head && h->shared == want->shared &&
           h->prev_action == want->prev_action && h->prev_reward == want->prev_reward &&
           h->memoryless == want->memoryless && h->action_kind == want->action_kind &&
           h->n_actions == want->n_actions;
}

/* A header of learner type type for a cell of this build's precision, every actor-critic field
 * 0 (the caller sets them). Sizes are at most RTU_MAX_DIM: they fit in a u32. */
static rtu_ckpt_header header_for(uint32_t type, const rtu_cell *cell, size_t n_in,
                                  rtu_optimizer optimizer, uint64_t steps, size_t payload)
{
    rtu_ckpt_header h;
    memset(&h, 0, sizeof h);
    h.version = RTU_CKPT_VERSION;
    h.learner_type = type;
    h.precision = REAL_BYTES;
    h.kind = (uint32_t)cell->kind;
    h.activation = (uint32_t)cell->activation;
    h.n_in = (uint32_t)n_in;
    h.n_hidden = (uint32_t)cell->n_hidden;
    h.optimizer = (uint32_t)optimizer;
    h.steps = steps;
    h.payload_bytes = (uint64_t)payload;
    h.header_bytes = RTU_CKPT_HEADER_BYTES;
    return h;
}

/* ------------------------------------------------------------------------------------------ */
/* Shared by every learner type                                                                */

#define MAX_ARRAYS 18 /* the actor-critic's: 2 trunks of 5, 2 heads, z_v, z_pi, 3 statistics, x */
#define MISMATCH "another learner type, precision, kind, activation, size, network or action space"

/* How a loader bounds the entries of an array (beyond finiteness). */
enum {
    BOUND_VALUE = 0, /* within RTU_VALUE_LIMIT: a parameter, state or trace */
    BOUND_INPUT = 1, /* within RTU_INPUT_LIMIT: an observation, an input of the networks, or a
                        mean of observations */
    BOUND_STAT = 2,  /* a sum of squares: check_stats bounds it by its count */
    BOUND_ELIGIBILITY = 3 /* an eligibility trace, a decaying sum of gradients, each a product of
                             a parameter and a trace (or state): within RTU_VALUE_LIMIT^2 */
};

/* One array of a payload: where it is in the learner and what a loader says of it. */
typedef struct {
    rtu_real *ptr;
    size_t count;
    size_t n_log;          /* leading entries within RTU_LOG_PARAM_LIMIT (nu_log, theta_log) */
    int bound;             /* BOUND_VALUE, BOUND_INPUT, BOUND_STAT or BOUND_ELIGIBILITY */
    int fresh_zero;        /* all zero in a learner that holds no step yet (TD: has_prev 0, the
                              actor-critic: fed 0, at an episode's start): states and traces */
    const char *nonfinite; /* *what of a loader that finds a NaN or Inf in it */
    const char *beyond;    /* ... an entry beyond its bound */
    const char *nonzero;   /* ... a nonzero entry where fresh_zero holds */
    const rtu_cell *cell;  /* a cell's state (c, d, h): its features are checked (check_features) */
    const char *features;  /* ... features that the cell's state cannot have */
} ckpt_array;

/* The networks whose arrays a payload names: an actor-critic's critic, actor or shared trunk, or
 * TD's one cell (no prefix). */
enum { NET_CRITIC = 0, NET_ACTOR = 1, NET_SHARED = 2, NET_TD = 3 };
#define NAMED(net, head, name, tail)                                                               \
    ((net) == NET_TD       ? head name tail                                                        \
     : (net) == NET_SHARED ? head "shared." name tail                                              \
     : (net) == NET_CRITIC ? head "critic." name tail                                              \
                           : head "actor." name tail)
#define NONFINITE(net, name) NAMED(net, "NaN or Inf in ", name, "")
#define BEYOND_VALUE " beyond +-RTU_VALUE_LIMIT (1e15)"
#define BEYOND(net, name) NAMED(net, "", name, BEYOND_VALUE)
#define BEYOND_ELIGIBILITY " beyond +-RTU_VALUE_LIMIT^2 (1e30)"
#define FRESH_TD " not zero before the first step (has_prev 0)"
#define FRESH_AC " not zero at an episode's start (fed 0)"
#define NOT_FRESH(net, name) ((net) == NET_TD ? name FRESH_TD : NAMED(net, "", name, FRESH_AC))

/* a[k] = the array (bound BOUND_VALUE, not fresh_zero); returns k + 1. */
static size_t add(ckpt_array *a, size_t k, rtu_real *ptr, size_t count, size_t n_log,
                  const char *nonfinite, const char *beyond)
{
    a[k].ptr = ptr;
    a[k].count = count;
    a[k].n_log = n_log;
    a[k].bound = BOUND_VALUE;
    a[k].fresh_zero = 0;
    a[k].nonfinite = nonfinite;
    a[k].beyond = beyond;
    a[k].nonzero = "";
    a[k].cell = NULL;
    a[k].features = "";
    return k + 1;
}

/* a[k - 1], just added, is zero in a learner that holds no step yet (nonzero: what a loader says
 * of a nonzero entry then); returns k. */
static size_t fresh_zero(ckpt_array *a, size_t k, const char *nonzero)
{
    a[k - 1].fresh_zero = 1;
    a[k - 1].nonzero = nonzero;
    return k;
}

/* a[k - 1], just added, has bound instead of BOUND_VALUE; returns k. */
static size_t bounded(ckpt_array *a, size_t k, int bound, const char *beyond)
{
    a[k - 1].bound = bound;
    a[k - 1].beyond = beyond;
    return k;
}

/* The cell's arrays of a payload, in order (params; c, d, h (, x); unit traces; weight traces),
 * from a[k] on. Returns the new k. */
static size_t cell_arrays(const rtu_cell *cell, ckpt_array *a, size_t k, int net)
{
    size_t n = cell->n_hidden, d = cell->n_in;
    k = add(a, k, cell->params, cell->n_params, 2 * n, NONFINITE(net, "params"),
            BEYOND(net, "params"));
    k = add(a, k, cell->c, RTU_CELL_STATE(cell->kind, d, n), 0, NONFINITE(net, "state"),
            BEYOND(net, "state")); /* c, d, h (, x): contiguous */
    k = fresh_zero(a, k, NOT_FRESH(net, "state"));
    a[k - 1].cell = cell;
    a[k - 1].features = NAMED(net, "", "state", ": features h that its c, d and activation "
                                                "cannot give");
    k = add(a, k, cell->dc_dnu, 4 * n, 0, NONFINITE(net, "traces_unit"),
            BEYOND(net, "traces_unit")); /* dc_dnu..dd_dtheta */
    k = fresh_zero(a, k, NOT_FRESH(net, "traces_unit"));
    k = add(a, k, cell->dc_dwc, RTU_CELL_TRACES(cell->kind, d, n) - 4 * n, 0,
            NONFINITE(net, "traces_weight"), BEYOND(net, "traces_weight"));
    return fresh_zero(a, k, NOT_FRESH(net, "traces_weight"));
}

/* Set *what (what may be NULL) and return status. */
static rtu_status fault(const char **what, const char *text, rtu_status status)
{
    if (what != NULL) {
        *what = text;
    }
    return status;
}

static size_t total_reals(const ckpt_array *a, size_t m)
{
    size_t k, reals = 0;
    for (k = 0; k < m; ++k) {
        reals += a[k].count;
    }
    return reals;
}

/* The configs as stored (r: the config's reals; q: the actor-critic's payload, whose integers
 * hold the flags). The header's optimizer must already be known to be 0 or 1. Validity is the
 * learners' own rtu_td_check_config / rtu_ac_check_config, the rules their init applies. */
static rtu_td_config td_config_at(const unsigned char *r, uint32_t optimizer)
{
    rtu_td_config c;
    size_t i = 0;
#define GET_REAL(name, value, rule, obgd_only) c.name = get_real(r + REAL_BYTES * i++);
    RTU_TD_CONFIG_REALS(GET_REAL)
    c.optimizer = optimizer == RTU_OPT_OBGD ? RTU_OPT_OBGD : RTU_OPT_SGD;
    return c;
}

/* The flags (0 or 1 each) open the actor-critic's integers. */
#define AC_FLAGS_AT 0u
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

static int all_zero_at(const unsigned char *p, size_t count)
{
    size_t i;
    for (i = 0; i < count; ++i) {
        if (get_real(p + REAL_BYTES * i) != 0) {
            return 0;
        }
    }
    return 1;
}

/* f(v) in double, as the cell applies it (rtu_cell.c: activate). */
static double activated(rtu_activation act, double v)
{
    return act == RTU_ACT_RELU ? (v > 0 ? v : 0.0) : act == RTU_ACT_TANH ? tanh(v) : v;
}

/* Whether v lies in the range of f (relu: >= 0, tanh: [-1, 1]). */
static int in_range(rtu_activation act, double v)
{
    return act == RTU_ACT_RELU ? v >= 0 : act == RTU_ACT_TANH ? fabs(v) <= 1.0 : 1;
}

/* Whether the features h of a cell's stored state (c, d, h at p) are what its step leaves: the
 * linear kind's h = [f(c); f(d)] (tanh within 16 ulps: the float build's rational tanh, within
 * RTU_TANH_MAX_ERROR, the double build's libm, or numpy's for the
 * reference, against this one), the nonlinear kind's c, d in f's range and h = [c; d], the LRU's
 * h in f's range (its readout's parameters have changed since). */
static int features_ok(const rtu_cell *cell, const unsigned char *p)
{
    size_t k, n = cell->n_hidden;
    const double tol = 16.0 * (sizeof(rtu_real) == 4 ? 1.1920929e-7 : 2.220446049250313e-16);
    for (k = 0; k < 2 * n; ++k) {
        double cd = get_real(p + REAL_BYTES * k), h = get_real(p + REAL_BYTES * (2 * n + k));
        if (!in_range(cell->activation, h)) {
            return 0;
        }
        if (cell->kind == RTU_KIND_LINEAR && !(fabs(h - activated(cell->activation, cd)) <=
                                               (cell->activation == RTU_ACT_TANH ? tol : 0.0))) {
            return 0;
        }
        if (cell->kind == RTU_KIND_NONLINEAR && h != cd) {
            return 0;
        }
    }
    return 1;
}

/* The arrays at q (laid out as a says): all finite; then the leading n_log reals of each (a
 * cell's |nu_log|, |theta_log|) within RTU_LOG_PARAM_LIMIT; then each within its bound; then,
 * in a learner that holds no step yet (fresh), those that are zero then all zero; then each
 * cell's features (features_ok). *what names the first fault. */
static rtu_status check_arrays(const unsigned char *q, const ckpt_array *a, size_t m, int fresh,
                               const char **what)
{
    const unsigned char *at;
    size_t k, i;
    for (k = 0, at = q; k < m; at += REAL_BYTES * a[k++].count) {
        if (!all_finite_at(at, a[k].count)) {
            return fault(what, a[k].nonfinite, RTU_ERR_NONFINITE_PARAM);
        }
    }
    for (k = 0, at = q; k < m; at += REAL_BYTES * a[k++].count) {
        for (i = 0; i < a[k].n_log; ++i) {
            if (RTU_FABS(get_real(at + REAL_BYTES * i)) > (rtu_real)RTU_LOG_PARAM_LIMIT) {
                return fault(what, "|nu_log| or |theta_log| beyond RTU_LOG_PARAM_LIMIT (20)",
                             RTU_ERR_PARAM_RANGE);
            }
        }
    }
    for (k = 0, at = q; k < m; at += REAL_BYTES * a[k++].count) {
        double limit = a[k].bound == BOUND_VALUE         ? RTU_VALUE_LIMIT
                       : a[k].bound == BOUND_ELIGIBILITY ? RTU_VALUE_LIMIT * RTU_VALUE_LIMIT
                                                         : RTU_INPUT_LIMIT;
        for (i = 0; a[k].bound != BOUND_STAT && i < a[k].count; ++i) {
            if (fabs((double)get_real(at + REAL_BYTES * i)) > limit) {
                return fault(what, a[k].beyond, RTU_ERR_PARAM_RANGE);
            }
        }
    }
    for (k = 0, at = q; fresh && k < m; at += REAL_BYTES * a[k++].count) {
        if (a[k].fresh_zero && !all_zero_at(at, a[k].count)) {
            return fault(what, a[k].nonzero, RTU_ERR_PARAM_RANGE);
        }
    }
    for (k = 0, at = q; k < m; at += REAL_BYTES * a[k++].count) {
        if (a[k].cell != NULL && !features_ok(a[k].cell, at)) {
            return fault(what, a[k].features, RTU_ERR_PARAM_RANGE);
        }
    }
    return RTU_OK;
}

static void put_arrays(unsigned char *q, const ckpt_array *a, size_t m)
{
    size_t k, i;
    for (k = 0; k < m; ++k) {
        for (i = 0; i < a[k].count; ++i) {
            put_real(q, a[k].ptr[i]);
            q += REAL_BYTES;
        }
    }
}

static void get_arrays(const unsigned char *q, const ckpt_array *a, size_t m)
{
    size_t k, i;
    for (k = 0; k < m; ++k) {
        for (i = 0; i < a[k].count; ++i) {
            a[k].ptr[i] = get_real(q);
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

rtu_status rtu_ckpt_read_dims(const void *in, size_t in_bytes, rtu_ckpt_dims *dims)
{
    rtu_ckpt_header h;
    rtu_ckpt_dims m;
    uint64_t fixed, reals;
    size_t bytes;
    rtu_status status = frame_in(in, in_bytes, &h);
    if (status == RTU_OK && dims == NULL) {
        status = RTU_ERR_NULL;
    }
    if (status != RTU_OK) {
        return status;
    }
    if ((h.learner_type != RTU_LEARNER_TD && h.learner_type != RTU_LEARNER_ACTOR_CRITIC &&
         h.learner_type != RTU_LEARNER_PPO_ADAM) ||
        (h.precision != 4u && h.precision != 8u) || h.kind > RTU_KIND_LRU ||
        h.activation > RTU_ACT_IDENTITY || h.n_in < 1u || h.n_in > RTU_MAX_DIM ||
        h.n_hidden < 1u || h.n_hidden > RTU_MAX_DIM) {
        return RTU_ERR_CKPT_MISMATCH;
    }
    memset(&m, 0, sizeof m);
    m.version = h.version;
    m.learner_type = h.learner_type;
    m.precision = h.precision;
    m.kind = h.kind == RTU_KIND_LRU         ? RTU_KIND_LRU
             : h.kind == RTU_KIND_NONLINEAR ? RTU_KIND_NONLINEAR
                                            : RTU_KIND_LINEAR;
    m.activation = h.activation == RTU_ACT_RELU   ? RTU_ACT_RELU
                   : h.activation == RTU_ACT_TANH ? RTU_ACT_TANH
                                                  : RTU_ACT_IDENTITY;
    m.n_in = h.n_in;
    m.n_hidden = h.n_hidden;
    m.shape.kind = m.kind;
    m.shape.activation = m.activation;
    m.shape.n_obs = m.n_in;
    m.shape.n_hidden = m.n_hidden;
    m.shape.action_kind = RTU_ACTIONS_DISCRETE;
    if (h.learner_type == RTU_LEARNER_TD) {
        if (h.n_embed || h.n_head || h.shared || h.prev_action || h.prev_reward ||
            h.memoryless || h.action_kind || h.n_actions ||
            rtu_td_buffer_size(m.kind, m.n_in, m.n_hidden, &bytes) != RTU_OK) {
            return RTU_ERR_CKPT_MISMATCH;
        }
        fixed = U32_BYTES;
        reals = RTU_TD_CKPT_REALS(m.kind, m.n_in, m.n_hidden);
    } else {
        const rtu_ac_shape *s = &m.shape;
        if (h.shared > 1u || h.prev_action > 1u || h.prev_reward > RTU_REWARD_GATED_SIGN ||
            h.memoryless > 1u ||
            h.action_kind > RTU_ACTIONS_CONTINUOUS) {
            return RTU_ERR_CKPT_MISMATCH;
        }
        m.shape.n_embed = h.n_embed;
        m.shape.n_head = h.n_head;
        m.shape.shared = (int)h.shared;
        m.shape.prev_action = (int)h.prev_action;
        m.shape.prev_reward = (int)h.prev_reward;
        m.shape.memoryless = (int)h.memoryless;
        m.shape.action_kind = h.action_kind ? RTU_ACTIONS_CONTINUOUS : RTU_ACTIONS_DISCRETE;
        m.shape.n_actions = h.n_actions;
        /* a shape this build can lay out: then its checkpoint's reals fit in a size_t too */
        if (rtu_ac_check_shape(s) != RTU_OK) {
            return RTU_ERR_CKPT_MISMATCH;
        }
        if (h.learner_type == RTU_LEARNER_PPO_ADAM) {
            fixed = RTU_PPO_ADAM_CKPT_FIXED_BYTES;
            reals = RTU_PPO_ADAM_REALS(s->kind, s->n_obs, s->n_hidden, s->n_embed, s->n_head,
                                       s->prev_action, s->prev_reward, s->action_kind,
                                       s->n_actions);
        } else {
            fixed = RTU_AC_CKPT_FIXED_BYTES + RTU_AC_CKPT_COUNT_BYTES;
            reals = RTU_AC_CKPT_REALS(s->kind, s->n_obs, s->n_hidden, s->n_embed, s->n_head,
                                      s->shared, s->prev_action, s->prev_reward, s->action_kind,
                                      s->n_actions);
        }
    }
    if (fixed + (uint64_t)h.precision * reals != h.payload_bytes) {
        return RTU_ERR_CKPT_MISMATCH;
    }
    m.steps = h.steps;
    m.bytes = h.header_bytes + RTU_CKPT_CRC_BYTES + (size_t)h.payload_bytes; /* within in_bytes */
    *dims = m;
    return RTU_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* TD(lambda)                                                                                  */

#define TD_SCALARS (RTU_TD_CONFIG_REAL_COUNT + 2u) /* the config's reals, v_prev, z_norm1 */
#define TD_LEAD (TD_SCALARS * REAL_BYTES + U32_BYTES) /* then has_prev */

/* The arrays of a TD payload, in order. Returns how many. */
static size_t td_arrays(const rtu_td *td, ckpt_array *a)
{
    size_t k = cell_arrays(&td->cell, a, 0, NET_TD);
    k = add(a, k, td->head, 2 * td->cell.n_hidden + 1, 0, "NaN or Inf in head",
            "head" BEYOND_VALUE);
    k = add(a, k, td->z, td->n_params, 0, "NaN or Inf in z", "");
    k = bounded(a, k, BOUND_ELIGIBILITY, "z" BEYOND_ELIGIBILITY);
    return fresh_zero(a, k, "z" FRESH_TD);
}

static size_t td_payload_bytes(const rtu_td *td)
{
    ckpt_array a[MAX_ARRAYS];
    size_t m = td_arrays(td, a);
    return TD_LEAD + REAL_BYTES * total_reals(a, m);
}

/* The header of td's checkpoint. */
static rtu_ckpt_header td_header(const rtu_td *td)
{
    return header_for(RTU_LEARNER_TD, &td->cell, td->cell.n_in, td->config.optimizer, td->steps,
                      td_payload_bytes(td));
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

/* Everything rtu_td_load checks, on a checkpoint whose framing rtu_ckpt_inspect accepted (version
 * 2 or 1: the payload starts at h->header_bytes); td is only read (for the configuration it must
 * match). a: the caller's MAX_ARRAYS entries, as for validate_ac. */
static rtu_status validate_td(const rtu_td *td, const unsigned char *p, const rtu_ckpt_header *h,
                              ckpt_array *a, const char **what)
{
    size_t m = td_arrays(td, a);
    const unsigned char *q = p + h->header_bytes;
    rtu_ckpt_header want = td_header(td);
    rtu_td_config config;
    uint32_t has_prev;
    rtu_real v_prev, z_norm1;
    const unsigned char *at;
    size_t k, i;
    double norm = 0;
    rtu_status status;

    if (!header_matches(h, &want)) {
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
    has_prev = get_u32(q + TD_SCALARS * REAL_BYTES);
    if (has_prev > 1) {
        return fault(what, "has_prev (0 or 1)", RTU_ERR_CONFIG);
    }
    v_prev = get_real(q + (TD_SCALARS - 2) * REAL_BYTES);
    z_norm1 = get_real(q + (TD_SCALARS - 1) * REAL_BYTES);
    if (fabs((double)v_prev) > RTU_VALUE_LIMIT) {
        return fault(what, "v_prev" BEYOND_VALUE, RTU_ERR_PARAM_RANGE);
    }
    if (!has_prev && (v_prev != 0 || z_norm1 != 0)) {
        return fault(what, "v_prev or z_norm1 not zero before the first step (has_prev 0)",
                     RTU_ERR_PARAM_RANGE);
    }
    status = check_arrays(q + TD_LEAD, a, m, !has_prev, what);
    if (status != RTU_OK) {
        return status;
    }
    /* z_norm1, which bounds ObGD's step, is |z|_1 as the latest step summed it (z is the last
     * array): not below it but for rounding (a factor 2 spares plenty); it may be above it, as
     * the phase wrap may have scaled theta_log's entries down since */
    for (k = 0, at = q + TD_LEAD; k + 1 < m; ++k) {
        at += REAL_BYTES * a[k].count;
    }
    for (i = 0; i < a[m - 1].count; ++i) {
        norm += fabs((double)get_real(at + REAL_BYTES * i));
    }
    if (!(z_norm1 >= 0.5 * norm)) {
        return fault(what, "z_norm1 below |z|_1", RTU_ERR_PARAM_RANGE);
    }
    return RTU_OK;
}

rtu_status rtu_td_load(rtu_td *td, const void *in, size_t in_bytes)
{
    const unsigned char *p = (const unsigned char *)in, *q;
    rtu_ckpt_header h;
    ckpt_array a[MAX_ARRAYS];
    size_t m;
    rtu_status status = check_td(td);
    if (status == RTU_OK) {
        status = frame_in(in, in_bytes, &h);
    }
    if (status == RTU_OK) {
        status = validate_td(td, p, &h, a, NULL);
    }
    if (status != RTU_OK) {
        return status; /* td untouched */
    }
    q = p + h.header_bytes;
    td->config = td_config_at(q, h.optimizer);
    td->v_prev = get_real(q + (TD_SCALARS - 2) * REAL_BYTES);
    td->z_norm1 = get_real(q + (TD_SCALARS - 1) * REAL_BYTES);
    td->has_prev = get_u32(q + TD_SCALARS * REAL_BYTES) != 0;
    td->steps = h.steps;
    m = td_arrays(td, a);
    get_arrays(q + TD_LEAD, a, m);
    return rtu_cell_refresh(&td->cell); /* validated above: cannot fail */
}

rtu_status rtu_td_save(const rtu_td *td, void *out, size_t out_bytes, size_t *written)
{
    unsigned char *p = (unsigned char *)out, *q;
    ckpt_array a[MAX_ARRAYS];
    size_t m, total = 0;
    rtu_ckpt_header h;
    rtu_status status = check_td(td);
    if (written != NULL) {
        *written = 0;
    }
    if (status == RTU_OK) {
        h = td_header(td);
        total = HEADER_TAIL + (size_t)h.payload_bytes;
        status = begin_save(out, out_bytes, total);
    }
    if (status != RTU_OK) {
        return status;
    }
    q = put_header(p, &h);
    put_td_config(q, &td->config);
    put_real(q + (TD_SCALARS - 2) * REAL_BYTES, td->v_prev);
    put_real(q + (TD_SCALARS - 1) * REAL_BYTES, td->z_norm1);
    put_u32(q + TD_SCALARS * REAL_BYTES, td->has_prev ? 1u : 0u);
    m = td_arrays(td, a);
    put_arrays(q + TD_LEAD, a, m);
    status = seal(p, (size_t)h.payload_bytes, &h);
    if (status == RTU_OK) {
        status = validate_td(td, p, &h, a, NULL);
    }
    return end_save(p, total, status, written);
}

/* ------------------------------------------------------------------------------------------ */
/* Actor-critic                                                                                */

#define AC_FIXED RTU_AC_CKPT_FIXED_BYTES
#define AC_SCALARS (RTU_AC_CONFIG_REAL_COUNT + 3u) /* the config's, ret_trace, ret_mean, ret_m2 */
/* The actor-critic's integers: the flags, fed, acted (u32), then episodes, obs_count, ret_count,
 * PRNG state and increment (u64). */
#define AC_FED_AT (AC_FLAGS_AT + AC_FLAG_BYTES)
#define AC_ACTED_AT (AC_FED_AT + U32_BYTES)
#define AC_U64_AT(k) (AC_ACTED_AT + U32_BYTES + 8u * (k)) /* 0 episodes .. 4 PRNG increment */
#define AC_LEAD (AC_FIXED + AC_SCALARS * REAL_BYTES)
/* After the arrays: reward_count (u64), then reward_mean, reward_m2. */
#define AC_REWARD_BYTES (RTU_AC_CKPT_COUNT_BYTES + 2u * REAL_BYTES)

/* The arrays of an actor-critic payload, in order. Returns how many. */
static size_t ac_arrays(const rtu_ac *ac, ckpt_array *a)
{
    const rtu_ac_shape *s = &ac->shape;
    size_t r, k = 0;
    for (r = 0; r < (s->shared ? 1u : 2u); ++r) {
        const rtu_ac_trunk *t = &ac->trunk[r];
        int net = s->shared ? NET_SHARED : (int)r;
        if (t->n_embed) {
            k = add(a, k, t->embed, RTU_AC_EMBED_PARAMS(t->n_x, t->n_embed), 0,
                    NONFINITE(net, "embed"), BEYOND(net, "embed"));
        }
        k = cell_arrays(&t->cell, a, k, net);
    }
    k = add(a, k, ac->head[0].params, ac->head[0].n_params, 0, "NaN or Inf in critic.head",
            "critic.head" BEYOND_VALUE);
    k = add(a, k, ac->head[1].params, ac->head[1].n_params, 0, "NaN or Inf in actor.head",
            "actor.head" BEYOND_VALUE);
    k = add(a, k, ac->z_v, ac->n_value, 0, "NaN or Inf in z_v", "");
    k = bounded(a, k, BOUND_ELIGIBILITY, "z_v" BEYOND_ELIGIBILITY);
    k = fresh_zero(a, k, "z_v" FRESH_AC);
    k = add(a, k, ac->z_pi, ac->n_policy, 0, "NaN or Inf in z_pi", "");
    k = bounded(a, k, BOUND_ELIGIBILITY, "z_pi" BEYOND_ELIGIBILITY);
    k = fresh_zero(a, k, "z_pi" FRESH_AC);
    k = add(a, k, ac->obs_mean, s->n_obs, 0, "NaN or Inf in obs_mean", "");
    k = bounded(a, k, BOUND_INPUT, "obs_mean beyond +-RTU_INPUT_LIMIT (1e6), a mean of "
                                   "observations within it");
    k = add(a, k, ac->obs_m2, s->n_obs, 0, "NaN or Inf in obs_m2", "");
    k = bounded(a, k, BOUND_STAT, "");
    k = add(a, k, ac->obs_last, s->n_obs, 0, "NaN or Inf in obs_last", "");
    k = bounded(a, k, BOUND_INPUT, "obs_last beyond +-RTU_INPUT_LIMIT (1e6), an observation");
    k = add(a, k, ac->x, ac->n_x, 0, "NaN or Inf in x", "");
    return bounded(a, k, BOUND_INPUT, "x beyond +-RTU_INPUT_LIMIT (1e6), the networks' input");
}

static size_t ac_payload_bytes(const rtu_ac *ac)
{
    ckpt_array a[MAX_ARRAYS];
    size_t m = ac_arrays(ac, a);
    return AC_LEAD + REAL_BYTES * total_reals(a, m) + AC_REWARD_BYTES;
}

/* Where the reward statistics are in a payload at q (the payload of ac's shape). */
static size_t ac_reward_at(const rtu_ac *ac)
{
    return ac_payload_bytes(ac) - AC_REWARD_BYTES;
}

/* The header of ac's checkpoint: its shape (sizes at most RTU_MAX_DIM, flags 0 or 1). */
static rtu_ckpt_header ac_header(const rtu_ac *ac)
{
    const rtu_ac_shape *s = &ac->shape;
    rtu_ckpt_header h = header_for(RTU_LEARNER_ACTOR_CRITIC, &ac->trunk[0].cell, s->n_obs,
                                   ac->config.optimizer, ac->steps, ac_payload_bytes(ac));
    h.n_embed = (uint32_t)s->n_embed;
    h.n_head = (uint32_t)s->n_head;
    h.shared = (uint32_t)s->shared;
    h.prev_action = (uint32_t)s->prev_action;
    h.prev_reward = (uint32_t)s->prev_reward;
    h.memoryless = (uint32_t)s->memoryless;
    h.action_kind = (uint32_t)s->action_kind;
    h.n_actions = (uint32_t)s->n_actions;
    return h;
}

static rtu_status check_ac(const rtu_ac *ac)
{
    if (ac == NULL || ac->trunk[0].cell.params == NULL || ac->head[0].params == NULL ||
        ac->head[1].params == NULL || ac->z_v == NULL || ac->z_pi == NULL ||
        ac->obs_mean == NULL || ac->obs_m2 == NULL || ac->obs_last == NULL || ac->x == NULL) {
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

/* The reward statistics of a payload at q. */
typedef struct {
    uint64_t count;
    double mean, m2;
} reward_stats;

static reward_stats reward_stats_at(const rtu_ac *ac, const unsigned char *q)
{
    reward_stats r;
    const unsigned char *t = q + ac_reward_at(ac);
    r.count = get_u64(t);
    r.mean = get_real(t + RTU_AC_CKPT_COUNT_BYTES);
    r.m2 = get_real(t + RTU_AC_CKPT_COUNT_BYTES + REAL_BYTES);
    return r;
}

/* The counters and the running statistics (Welford's count, mean and m2, a sum of squares) of
 * the observations, of the reward scaling's return trace u = gamma u + r and of the raw rewards
 * of the previous-reward input, as a learner can hold them (*what names the first fault):
 *   counts within RTU_COUNT_LIMIT; episodes <= steps (an episode ends in a learn); ret_count <=
 *   steps <= obs_count (a learn counts a return, with scale_reward, and an observation);
 *   reward_count <= steps (a learn counts a reward, with prev_reward);
 *   the statistics zero when off (normalize_obs, scale_reward; the reward's: prev_reward, its
 *   mean and m2 zero with RTU_REWARD_SIGN and with RTU_REWARD_NORMALIZED without normalize_obs),
 *   m2 zero before two samples, the mean (and u) zero before one;
 *   m2 >= 0;
 *   no larger than count samples within their bounds give: an observation or a reward, and so a
 *   mean of them, within L = RTU_INPUT_LIMIT (the observations' mean's bound is its array's), so
 *   m2 <= 8 L^2 count; a reward within L, so |u|, |ret_mean| <= U = 2 L count and ret_m2 <=
 *   count (2 U)^2 (with a factor 2 to spare for rounding). */
static rtu_status check_stats(const rtu_ac *ac, const rtu_ac_config *config, uint64_t steps,
                              const unsigned char *q, const unsigned char *arrays,
                              const ckpt_array *a, size_t m, const reward_stats *rs,
                              const char **what)
{
    const unsigned char *r = q + AC_FIXED, *at, *means = NULL, *m2s = NULL;
    uint64_t episodes = get_u64(q + AC_U64_AT(0)), obs_count = get_u64(q + AC_U64_AT(1));
    uint64_t ret_count = get_u64(q + AC_U64_AT(2));
    double L = RTU_INPUT_LIMIT, U = 2.0 * L * (double)ret_count;
    double trace = get_real(r + (AC_SCALARS - 3) * REAL_BYTES);
    double mean = get_real(r + (AC_SCALARS - 2) * REAL_BYTES);
    double m2 = get_real(r + (AC_SCALARS - 1) * REAL_BYTES);
    size_t k, j;
    if (obs_count > RTU_COUNT_LIMIT || ret_count > RTU_COUNT_LIMIT) {
        return fault(what, "obs_count or ret_count beyond RTU_COUNT_LIMIT (2^53)",
                     RTU_ERR_PARAM_RANGE);
    }
    if (episodes > steps || ret_count > steps || steps > obs_count) {
        return fault(what, "episodes or ret_count above steps, or steps above obs_count (a learn "
                           "counts a step, a return and an observation)", RTU_ERR_PARAM_RANGE);
    }
    if (m2 < 0) {
        return fault(what, "ret_m2 below 0 (a sum of squares)", RTU_ERR_PARAM_RANGE);
    }
    if (!config->scale_reward && (ret_count != 0 || trace != 0 || mean != 0 || m2 != 0)) {
        return fault(what, "ret_count, ret_trace, ret_mean or ret_m2 not zero with scale_reward "
                           "off", RTU_ERR_PARAM_RANGE);
    }
    if ((ret_count == 0 && (trace != 0 || mean != 0)) || (ret_count <= 1 && m2 != 0)) {
        return fault(what, "ret_trace, ret_mean or ret_m2 not zero before ret_count returns "
                           "make them", RTU_ERR_PARAM_RANGE);
    }
    if (fabs(trace) > U || fabs(mean) > U || m2 > (double)ret_count * 4.0 * U * U) {
        return fault(what, "ret_trace, ret_mean or ret_m2 beyond what ret_count rewards within "
                           "RTU_INPUT_LIMIT give", RTU_ERR_PARAM_RANGE);
    }
    for (k = 0, at = arrays; k < m; at += REAL_BYTES * a[k++].count) {
        means = a[k].ptr == ac->obs_mean ? at : means;
        m2s = a[k].ptr == ac->obs_m2 ? at : m2s;
    }
    for (j = 0; j < ac->shape.n_obs; ++j) {
        double mean_j = get_real(means + REAL_BYTES * j), m2_j = get_real(m2s + REAL_BYTES * j);
        if (m2_j < 0) {
            return fault(what, "obs_m2 below 0 (a sum of squares)", RTU_ERR_PARAM_RANGE);
        }
        if (!config->normalize_obs && (mean_j != 0 || m2_j != 0)) {
            return fault(what, "obs_mean or obs_m2 not zero with normalize_obs off",
                         RTU_ERR_PARAM_RANGE);
        }
        if ((obs_count == 0 && mean_j != 0) || (obs_count <= 1 && m2_j != 0)) {
            return fault(what, "obs_mean or obs_m2 not zero before obs_count observations make "
                               "them", RTU_ERR_PARAM_RANGE);
        }
        if (m2_j > 8.0 * L * L * (double)obs_count) {
            return fault(what, "obs_m2 beyond what obs_count observations within "
                               "RTU_INPUT_LIMIT give", RTU_ERR_PARAM_RANGE);
        }
    }
    if (rs->count > RTU_COUNT_LIMIT) {
        return fault(what, "reward_count beyond RTU_COUNT_LIMIT (2^53)", RTU_ERR_PARAM_RANGE);
    }
    if (rs->count > steps) {
        return fault(what, "reward_count above steps (a learn counts a reward, with prev_reward)",
                     RTU_ERR_PARAM_RANGE);
    }
    if (rs->m2 < 0) {
        return fault(what, "reward_m2 below 0 (a sum of squares)", RTU_ERR_PARAM_RANGE);
    }
    if (!ac->shape.prev_reward && (rs->count != 0 || rs->mean != 0 || rs->m2 != 0)) {
        return fault(what, "reward_count, reward_mean or reward_m2 not zero with prev_reward off",
                     RTU_ERR_PARAM_RANGE);
    }
    if (ac->shape.prev_reward == RTU_REWARD_SIGN && (rs->mean != 0 || rs->m2 != 0)) {
        return fault(what, "reward_mean or reward_m2 not zero with the reward's sign as input",
                     RTU_ERR_PARAM_RANGE);
    }
    if (ac->shape.prev_reward == RTU_REWARD_NORMALIZED && !config->normalize_obs &&
        (rs->mean != 0 || rs->m2 != 0)) {
        return fault(what, "reward_mean or reward_m2 not zero with the reward normalised and "
                           "normalize_obs off", RTU_ERR_PARAM_RANGE);
    }
    if ((rs->count == 0 && rs->mean != 0) || (rs->count <= 1 && rs->m2 != 0)) {
        return fault(what, "reward_mean or reward_m2 not zero before reward_count rewards make "
                           "them", RTU_ERR_PARAM_RANGE);
    }
    if (fabs(rs->mean) > L || rs->m2 > 8.0 * L * L * (double)rs->count) {
        return fault(what, "reward_mean or reward_m2 beyond what reward_count rewards within "
                           "RTU_INPUT_LIMIT give", RTU_ERR_PARAM_RANGE);
    }
    return RTU_OK;
}

/* Everything rtu_ac_load checks, on a checkpoint whose framing rtu_ckpt_inspect accepted; ac is
 * only read (for the shape it must match). a: the caller's MAX_ARRAYS entries (one such table on
 * the stack, not two: a microcontroller's stack is small). */
static rtu_status validate_ac(const rtu_ac *ac, const unsigned char *p, const rtu_ckpt_header *h,
                              ckpt_array *a, const char **what)
{
    size_t m = ac_arrays(ac, a), i;
    const unsigned char *q = p + h->header_bytes, *r = q + AC_FIXED;
    rtu_ckpt_header want = ac_header(ac);
    rtu_ac_config config;
    reward_stats rs;
    rtu_status status;

    /* the shape and the payload length first: they bound every read below */
    if (!header_matches(h, &want)) {
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
    status = check_arrays(q + AC_LEAD, a, m, get_u32(q + AC_FED_AT) == 0, what);
    rs = reward_stats_at(ac, q);
    if (status == RTU_OK && !(isfinite(rs.mean) && isfinite(rs.m2))) {
        status = fault(what, "NaN or Inf in reward_mean or reward_m2", RTU_ERR_NONFINITE_PARAM);
    }
    if (status == RTU_OK) {
        status = check_stats(ac, &config, h->steps, q, q + AC_LEAD, a, m, &rs, what);
    }
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
    ckpt_array a[MAX_ARRAYS];
    size_t m;
    rtu_status status = check_ac(ac);
    if (status == RTU_OK) {
        status = frame_in(in, in_bytes, &h);
    }
    if (status == RTU_OK) {
        status = validate_ac(ac, p, &h, a, NULL);
    }
    if (status != RTU_OK) {
        return status; /* ac untouched */
    }
    q = p + h.header_bytes;
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
    {
        reward_stats rs = reward_stats_at(ac, q);
        ac->reward_count = rs.count;
        ac->reward_mean = (rtu_real)rs.mean;
        ac->reward_m2 = (rtu_real)rs.m2;
    }
    ac->steps = h.steps;
    m = ac_arrays(ac, a);
    get_arrays(q + AC_LEAD, a, m);
    /* validated above, so neither refresh can fail */
    status = rtu_cell_refresh(&ac->trunk[0].cell);
    if (status == RTU_OK && !ac->shape.shared) {
        status = rtu_cell_refresh(&ac->trunk[1].cell);
    }
    if (status == RTU_OK && ac->fed) {
        rtu_ac_refresh_forward(ac);
    }
    return status;
}

rtu_status rtu_ac_save(const rtu_ac *ac, void *out, size_t out_bytes, size_t *written)
{
    unsigned char *p = (unsigned char *)out, *q, *r;
    ckpt_array a[MAX_ARRAYS];
    size_t m, total = 0;
    rtu_ckpt_header h;
    rtu_status status = check_ac(ac);
    if (written != NULL) {
        *written = 0;
    }
    if (status == RTU_OK) {
        h = ac_header(ac);
        total = HEADER_TAIL + (size_t)h.payload_bytes;
        status = begin_save(out, out_bytes, total);
    }
    if (status != RTU_OK) {
        return status;
    }
    q = put_header(p, &h);
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
    m = ac_arrays(ac, a);
    put_arrays(q + AC_LEAD, a, m);
    r = q + ac_reward_at(ac);
    put_u64(r, ac->reward_count);
    put_real(r + RTU_AC_CKPT_COUNT_BYTES, ac->reward_mean);
    put_real(r + RTU_AC_CKPT_COUNT_BYTES + REAL_BYTES, ac->reward_m2);
    status = seal(p, (size_t)h.payload_bytes, &h);
    if (status == RTU_OK) {
        status = validate_ac(ac, p, &h, a, NULL); /* diverged, or between act and learn */
    }
    return end_save(p, total, status, written);
}

/* ------------------------------------------------------------------------------------------ */
/* Checking without loading                                                                    */

rtu_status rtu_td_check_checkpoint(const rtu_td *td, const void *in, size_t in_bytes,
                                   const char **what)
{
    rtu_ckpt_header h;
    ckpt_array a[MAX_ARRAYS];
    rtu_status status = check_td(td);
    if (status == RTU_OK) {
        status = frame_in(in, in_bytes, &h);
    }
    if (status != RTU_OK) {
        return fault(what, "", status);
    }
    return validate_td(td, (const unsigned char *)in, &h, a, what);
}

rtu_status rtu_ac_check_checkpoint(const rtu_ac *ac, const void *in, size_t in_bytes,
                                   const char **what)
{
    rtu_ckpt_header h;
    ckpt_array a[MAX_ARRAYS];
    rtu_status status = check_ac(ac);
    if (status == RTU_OK) {
        status = frame_in(in, in_bytes, &h);
    }
    if (status != RTU_OK) {
        return fault(what, "", status);
    }
    return validate_ac(ac, (const unsigned char *)in, &h, a, what);
}

/* ------------------------------------------------------------------------------------------ */
/* PPO's Adam state (learner type 3)                                                           */

/* The Adam state's header: its network's, of learner type 3. */
static rtu_ckpt_header adam_header(const rtu_ppo *ppo)
{
    rtu_ckpt_header h = ac_header(&ppo->ac);
    h.learner_type = RTU_LEARNER_PPO_ADAM;
    h.payload_bytes = RTU_PPO_ADAM_CKPT_FIXED_BYTES + (uint64_t)REAL_BYTES * 2u * ppo->n_grad;
    return h;
}

/* a: adam_m and adam_v (zero before the first Adam step). Returns how many. */
static size_t adam_arrays(const rtu_ppo *ppo, ckpt_array *a)
{
    size_t k = add(a, 0, ppo->adam_m, ppo->n_grad, 0, "NaN or Inf in adam_m", "");
    k = bounded(a, k, BOUND_ELIGIBILITY, "adam_m" BEYOND_ELIGIBILITY);
    k = fresh_zero(a, k, "adam_m not zero before the first Adam step (adam_steps 0)");
    k = add(a, k, ppo->adam_v, ppo->n_grad, 0, "NaN or Inf in adam_v", "");
    k = bounded(a, k, BOUND_ELIGIBILITY, "adam_v" BEYOND_ELIGIBILITY);
    return fresh_zero(a, k, "adam_v not zero before the first Adam step (adam_steps 0)");
}

static rtu_status check_ppo(const rtu_ppo *ppo)
{
    if (ppo == NULL || ppo->adam_m == NULL || ppo->adam_v == NULL) {
        return RTU_ERR_NULL;
    }
    return check_ac(&ppo->ac);
}

/* Everything rtu_ppo_load_adam checks, at p (framed: h); *what names the first fault. */
static rtu_status validate_adam(const rtu_ppo *ppo, const unsigned char *p,
                                const rtu_ckpt_header *h, ckpt_array *a, const char **what)
{
    const unsigned char *q = p + h->header_bytes, *v;
    rtu_ckpt_header want = adam_header(ppo);
    size_t i, m = adam_arrays(ppo, a);
    rtu_status status;
    if (!header_matches(h, &want)) {
        return fault(what, h->learner_type == RTU_LEARNER_PPO_ADAM
                               ? "the Adam state of another network: " MISMATCH
                               : "not PPO's Adam state (learner type 3): " MISMATCH,
                     RTU_ERR_CKPT_MISMATCH);
    }
    if (h->steps != ppo->ac.steps) {
        return fault(what, "the Adam state of another step than the network's (its step counter)",
                     RTU_ERR_CKPT_MISMATCH);
    }
    status = check_arrays(q + RTU_PPO_ADAM_CKPT_FIXED_BYTES, a, m, get_u64(q) == 0, what);
    v = q + RTU_PPO_ADAM_CKPT_FIXED_BYTES + REAL_BYTES * ppo->n_grad;
    for (i = 0; status == RTU_OK && i < ppo->n_grad; ++i) {
        if (get_real(v + REAL_BYTES * i) < 0) {
            status = fault(what, "adam_v below 0 (a mean of squares)", RTU_ERR_PARAM_RANGE);
        }
    }
    return status;
}

rtu_status rtu_ppo_adam_checkpoint_size(const rtu_ppo *ppo, size_t *bytes)
{
    rtu_status status = check_ppo(ppo);
    if (status == RTU_OK && bytes == NULL) {
        status = RTU_ERR_NULL;
    }
    if (status == RTU_OK) {
        *bytes = HEADER_TAIL + (size_t)adam_header(ppo).payload_bytes;
    }
    return status;
}

rtu_status rtu_ppo_save_adam(const rtu_ppo *ppo, void *out, size_t out_bytes, size_t *written)
{
    unsigned char *p = (unsigned char *)out, *q;
    ckpt_array a[2];
    size_t m, total = 0;
    rtu_ckpt_header h;
    rtu_status status = check_ppo(ppo);
    if (written != NULL) {
        *written = 0;
    }
    if (status == RTU_OK) {
        h = adam_header(ppo);
        total = HEADER_TAIL + (size_t)h.payload_bytes;
        status = begin_save(out, out_bytes, total);
    }
    if (status != RTU_OK) {
        return status;
    }
    q = put_header(p, &h);
    put_u64(q, ppo->adam_steps);
    m = adam_arrays(ppo, a);
    put_arrays(q + RTU_PPO_ADAM_CKPT_FIXED_BYTES, a, m);
    status = seal(p, (size_t)h.payload_bytes, &h);
    if (status == RTU_OK) {
        status = validate_adam(ppo, p, &h, a, NULL);
    }
    return end_save(p, total, status, written);
}

rtu_status rtu_ppo_load_adam(rtu_ppo *ppo, const void *in, size_t in_bytes)
{
    const unsigned char *p = (const unsigned char *)in;
    rtu_ckpt_header h;
    ckpt_array a[2];
    size_t m;
    rtu_status status = check_ppo(ppo);
    if (status == RTU_OK) {
        status = frame_in(in, in_bytes, &h);
    }
    if (status == RTU_OK) {
        status = validate_adam(ppo, p, &h, a, NULL);
    }
    if (status != RTU_OK) {
        return status; /* ppo untouched */
    }
    ppo->adam_steps = get_u64(p + h.header_bytes);
    m = adam_arrays(ppo, a);
    get_arrays(p + h.header_bytes + RTU_PPO_ADAM_CKPT_FIXED_BYTES, a, m);
    return RTU_OK;
}

rtu_status rtu_ppo_check_adam_checkpoint(const rtu_ppo *ppo, const void *in, size_t in_bytes,
                                         const char **what)
{
    rtu_ckpt_header h;
    ckpt_array a[2];
    rtu_status status = check_ppo(ppo);
    if (status == RTU_OK) {
        status = frame_in(in, in_bytes, &h);
    }
    if (status != RTU_OK) {
        return fault(what, "", status);
    }
    return validate_adam(ppo, (const unsigned char *)in, &h, a, what);
}
