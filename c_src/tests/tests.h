/* The C unit tests: every test function, and the list the runner (check.c) goes through. */
#ifndef RTU_TEST_TESTS_H
#define RTU_TEST_TESTS_H

#include <stddef.h>

typedef struct {
    const char *name;
    void (*fn)(int arg);
    int arg;               /* e.g. the golden case */
    const char *known_bug; /* NULL, or a core bug reported upstream: a failure is XFAIL */
} test_case;

extern const test_case test_list[];
extern const size_t test_count;

/* test_basic.c */
void test_status_strings(int arg);
void test_prng_golden(int arg);
void test_crc32_golden(int arg);
void test_cell_sizes(int arg);
void test_learner_sizes(int arg);
void test_size_errors(int arg);
void test_size_no_wrap(int arg);
void test_init_errors(int arg);
void test_td_check_config(int arg);
void test_ac_check_config(int arg);

/* test_cell.c */
void test_cell_golden(int golden_case);
void test_tanh_error(int arg);
void test_fast_derived_error(int arg);
void test_fast_derived_error_float(int arg);
void test_derived_cache_is_libms(int arg);
void test_cell_run_matches_step(int kind);
void test_cell_step_is_peek(int kind);
void test_cell_refuses_bad_input(int kind);
void test_cell_state_limit(int kind);

/* test_learners.c */
void test_td_golden(int golden_case);
void test_td_run_matches_step(int golden_case);
void test_td_refuses_bad_input(int arg);
void test_ac_golden(int golden_case);
void test_ac_order(int arg);
void test_td_limits(int arg);
void test_ac_refusals_change_nothing(int golden_case);
void test_ac_batch(int golden_case);
void test_ppo(int golden_case);
void test_td_batch(int golden_case);

/* test_ckpt.c */
void test_td_ckpt_from_python(int arg);
void test_ac_ckpt_from_python(int golden_ckpt);
void test_td_ckpt_roundtrip(int golden_case);
void test_ac_ckpt_roundtrip(int shape);
void test_ac_ckpt_resume_mid_episode(int shape);
void test_td_ckpt_refusals(int arg);
void test_ac_ckpt_refusals(int arg);

/* test_model.c */
void test_model_is_the_learners_forward(int golden_case);
void test_model_wide_is_the_learners_forward(int golden_case);
void test_model_reward_sign(int golden_case);
void test_model_reward_centered_sign(int golden_case);
void test_model_reward_gated_sign(int golden_case);
void test_model_run_sizes_and_refusals(int golden_case);
void test_model_batch(int golden_case);
void test_model_batch_blocks(int nonlinear);

/* test_dense.c */
void test_dense_batch_is_one_at_a_time(int arg);
void test_dense_rows_blocked_is_row_at_a_time(int arg);

#endif /* RTU_TEST_TESTS_H */
