/* Every C unit test, in the order the runner goes through them. */
#include "tests.h"

#define SIZE_WRAP_BUG                                                                               \
    "with a 32-bit size_t, rtu_cell_buffer_size accepts n_in * n_hidden up to 2^32 and returns a "  \
    "size that wrapped around"

const test_case test_list[] = {
    {"status_strings", test_status_strings, 0, NULL},
    {"prng_golden", test_prng_golden, 0, NULL},
    {"crc32_golden", test_crc32_golden, 0, NULL},
    {"sizes/cell", test_cell_sizes, 0, NULL},
    {"sizes/learners_and_checkpoints", test_learner_sizes, 0, NULL},
    {"sizes/errors", test_size_errors, 0, NULL},
    {"sizes/no_wrap", test_size_no_wrap, 0, SIZE_WRAP_BUG},
    {"init/errors", test_init_errors, 0, NULL},
    {"cell/linear/relu", test_cell_golden, 0, NULL},
    {"cell/linear/tanh", test_cell_golden, 1, NULL},
    {"cell/linear/identity", test_cell_golden, 2, NULL},
    {"cell/nonlinear/relu", test_cell_golden, 3, NULL},
    {"cell/nonlinear/tanh", test_cell_golden, 4, NULL},
    {"cell/nonlinear/identity", test_cell_golden, 5, NULL},
    {"cell/run_matches_step/linear", test_cell_run_matches_step, 0, NULL},
    {"cell/run_matches_step/nonlinear", test_cell_run_matches_step, 1, NULL},
    {"cell/refuses_bad_input/linear", test_cell_refuses_bad_input, 0, NULL},
    {"cell/refuses_bad_input/nonlinear", test_cell_refuses_bad_input, 1, NULL},
    {"td/0", test_td_golden, 0, NULL},
    {"td/1", test_td_golden, 1, NULL},
    {"td/2", test_td_golden, 2, NULL},
    {"td/3", test_td_golden, 3, NULL},
    {"td/run_matches_step", test_td_run_matches_step, 1, NULL},
    {"td/refuses_bad_input", test_td_refuses_bad_input, 0, NULL},
    {"ac/0", test_ac_golden, 0, NULL},
    {"ac/1", test_ac_golden, 1, NULL},
    {"ac/2", test_ac_golden, 2, NULL},
    {"ac/3", test_ac_golden, 3, NULL},
    {"ac/order_and_bad_input", test_ac_order, 0, NULL},
    {"ckpt/td_from_python", test_td_ckpt_from_python, 0, NULL},
    {"ckpt/ac_from_python/discrete", test_ac_ckpt_from_python, 0, NULL},
    {"ckpt/ac_from_python/continuous", test_ac_ckpt_from_python, 1, NULL},
    {"ckpt/td_roundtrip/linear", test_td_ckpt_roundtrip, 0, NULL},
    {"ckpt/td_roundtrip/nonlinear", test_td_ckpt_roundtrip, 1, NULL},
    {"ckpt/ac_roundtrip/discrete", test_ac_ckpt_roundtrip, 0, NULL},
    {"ckpt/ac_roundtrip/continuous", test_ac_ckpt_roundtrip, 2, NULL},
    {"ckpt/td_refusals", test_td_ckpt_refusals, 0, NULL},
    {"ckpt/ac_refusals", test_ac_ckpt_refusals, 0, NULL},
};

const size_t test_count = sizeof test_list / sizeof test_list[0];
