/*
 * Checkpoints (format in rtu_ckpt.h). Bytes are written and read one at a time with shifts, so the
 * format is the same on every host whatever its endianness or alignment; a real goes through the
 * unsigned integer of its width by memcpy. No heap, no globals, no stdio.
 */
#include <math.h>
#include <string.h>

#include "rtu_ckpt.h"

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
/* TD(lambda)                                                                                  */

/* The arrays of a TD payload, in order. Returns how many (8 at most). */
static size_t td_arrays(const rtu_td *td, rtu_real **ptr, size_t *count)
{
    const rtu_cell *cell = &td->cell;
    size_t n = cell->n_hidden, nd = n * cell->n_in, k = 0;
    ptr[k] = cell->params;  count[k++] = cell->n_params;
    ptr[k] = cell->c;       count[k++] = 4 * n; /* c, d, h are contiguous */
    ptr[k] = cell->dc_dnu;  count[k++] = 4 * n; /* dc_dnu .. dd_dtheta are contiguous */
    ptr[k] = cell->dc_dwc;  count[k++] = (cell->kind == RTU_KIND_NONLINEAR ? 4 : 2) * nd;
    ptr[k] = td->head;      count[k++] = 2 * n + 1;
    ptr[k] = td->z;         count[k++] = td->n_params;
    return k;
}

static size_t td_payload_bytes(const rtu_td *td)
{
    rtu_real *ptr[8];
    size_t count[8], k, reals = 6, m = td_arrays(td, ptr, count);
    for (k = 0; k < m; ++k) {
        reals += count[k];
    }
    return U32_BYTES + REAL_BYTES * reals;
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

/* Everything rtu_td_load checks, on a checkpoint whose framing rtu_ckpt_inspect accepted; td is
 * only read (for the configuration it must match). */
static rtu_status validate_td(const rtu_td *td, const unsigned char *p, const rtu_ckpt_header *h)
{
    const rtu_cell *cell = &td->cell;
    rtu_real *ptr[8];
    size_t count[8], k, m = td_arrays(td, ptr, count), n = cell->n_hidden;
    const unsigned char *q = p + RTU_CKPT_HEADER_BYTES;
    rtu_real gamma, lambda, alpha, kappa;
    uint32_t has_prev;

    if (h->learner_type != RTU_LEARNER_TD || h->precision != REAL_BYTES ||
        h->kind != (uint32_t)cell->kind || h->activation != (uint32_t)cell->activation ||
        (uint64_t)h->n_in != (uint64_t)cell->n_in ||
        (uint64_t)h->n_hidden != (uint64_t)cell->n_hidden ||
        h->payload_bytes != (uint64_t)td_payload_bytes(td)) {
        return RTU_ERR_CKPT_MISMATCH;
    }
    /* config, in the ranges rtu_td_init accepts */
    gamma = get_real(q);
    lambda = get_real(q + REAL_BYTES);
    alpha = get_real(q + 2 * REAL_BYTES);
    kappa = get_real(q + 3 * REAL_BYTES);
    has_prev = get_u32(q + 6 * REAL_BYTES);
    if (!all_finite_at(q, 6)) {
        return RTU_ERR_NONFINITE_PARAM;
    }
    if (!(gamma >= 0 && gamma <= 1 && lambda >= 0 && lambda <= 1 && alpha > 0) ||
        (h->optimizer != RTU_OPT_SGD && h->optimizer != RTU_OPT_OBGD) ||
        (h->optimizer == RTU_OPT_OBGD && !(kappa > 0)) || has_prev > 1) {
        return RTU_ERR_CONFIG;
    }
    /* every array finite, then the range of nu_log and theta_log (the first 2n params) */
    q += 6 * REAL_BYTES + U32_BYTES;
    for (k = 0; k < m; ++k) {
        if (!all_finite_at(q, count[k])) {
            return RTU_ERR_NONFINITE_PARAM;
        }
        q += REAL_BYTES * count[k];
    }
    q = p + RTU_CKPT_HEADER_BYTES + 6 * REAL_BYTES + U32_BYTES;
    for (k = 0; k < 2 * n; ++k) {
        if (RTU_FABS(get_real(q + REAL_BYTES * k)) > (rtu_real)RTU_LOG_PARAM_LIMIT) {
            return RTU_ERR_PARAM_RANGE;
        }
    }
    return RTU_OK;
}

rtu_status rtu_td_load(rtu_td *td, const void *in, size_t in_bytes)
{
    const unsigned char *p = (const unsigned char *)in, *q;
    rtu_ckpt_header h;
    rtu_real *ptr[8];
    size_t count[8], k, i, m;
    rtu_status status = check_td(td);
    if (status == RTU_OK && in == NULL) {
        status = RTU_ERR_NULL;
    }
    if (status == RTU_OK) {
        status = rtu_ckpt_inspect(in, in_bytes, &h);
    }
    if (status == RTU_OK) {
        status = validate_td(td, p, &h);
    }
    if (status != RTU_OK) {
        return status; /* td untouched */
    }
    q = p + RTU_CKPT_HEADER_BYTES;
    td->config.gamma = get_real(q);
    td->config.lambda = get_real(q + REAL_BYTES);
    td->config.alpha = get_real(q + 2 * REAL_BYTES);
    td->config.kappa = get_real(q + 3 * REAL_BYTES);
    td->config.optimizer = h.optimizer == RTU_OPT_OBGD ? RTU_OPT_OBGD : RTU_OPT_SGD;
    td->v_prev = get_real(q + 4 * REAL_BYTES);
    td->z_norm1 = get_real(q + 5 * REAL_BYTES);
    td->has_prev = get_u32(q + 6 * REAL_BYTES) != 0;
    td->steps = h.steps;
    q += 6 * REAL_BYTES + U32_BYTES;
    m = td_arrays(td, ptr, count);
    for (k = 0; k < m; ++k) {
        for (i = 0; i < count[k]; ++i) {
            ptr[k][i] = get_real(q);
            q += REAL_BYTES;
        }
    }
    return rtu_cell_refresh(&td->cell); /* validated above: cannot fail */
}

rtu_status rtu_td_save(const rtu_td *td, void *out, size_t out_bytes, size_t *written)
{
    unsigned char *p = (unsigned char *)out, *q;
    rtu_real *ptr[8];
    size_t count[8], k, i, m, payload, total;
    rtu_ckpt_header h;
    rtu_status status = check_td(td);
    if (written != NULL) {
        *written = 0;
    }
    if (status == RTU_OK && out == NULL) {
        status = RTU_ERR_NULL;
    }
    if (status != RTU_OK) {
        return status;
    }
    payload = td_payload_bytes(td);
    total = HEADER_TAIL + payload;
    if (out_bytes < total) {
        return RTU_ERR_BUFFER_SMALL;
    }
    put_u64(p, (uint64_t)MAGIC_U64);
    put_u32(p + 8, RTU_CKPT_VERSION);
    put_u32(p + 12, RTU_LEARNER_TD);
    put_u32(p + 16, REAL_BYTES);
    put_u32(p + 20, (uint32_t)td->cell.kind);
    put_u32(p + 24, (uint32_t)td->cell.activation);
    put_u32(p + 28, (uint32_t)td->cell.n_in);
    put_u32(p + 32, (uint32_t)td->cell.n_hidden);
    put_u32(p + 36, (uint32_t)td->config.optimizer);
    put_u64(p + 40, td->steps);
    put_u64(p + 48, (uint64_t)payload);
    q = p + RTU_CKPT_HEADER_BYTES;
    put_real(q, td->config.gamma);
    put_real(q + REAL_BYTES, td->config.lambda);
    put_real(q + 2 * REAL_BYTES, td->config.alpha);
    put_real(q + 3 * REAL_BYTES, td->config.kappa);
    put_real(q + 4 * REAL_BYTES, td->v_prev);
    put_real(q + 5 * REAL_BYTES, td->z_norm1);
    put_u32(q + 6 * REAL_BYTES, td->has_prev ? 1u : 0u);
    q += 6 * REAL_BYTES + U32_BYTES;
    m = td_arrays(td, ptr, count);
    for (k = 0; k < m; ++k) {
        for (i = 0; i < count[k]; ++i) {
            put_real(q, ptr[k][i]);
            q += REAL_BYTES;
        }
    }
    put_u32(q, rtu_crc32(p, RTU_CKPT_HEADER_BYTES + payload));
    /* never hand out a checkpoint that rtu_td_load would refuse (e.g. of a diverged learner) */
    status = rtu_ckpt_inspect(p, total, &h);
    if (status == RTU_OK) {
        status = validate_td(td, p, &h);
    }
    if (status != RTU_OK) {
        memset(p, 0, MAGIC_BYTES);
        return status;
    }
    if (written != NULL) {
        *written = total;
    }
    return RTU_OK;
}
