/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include "runtime/tasks/journal.h"

static char journal_dir[64];
static char journal_path[96];

static void journal_setup(void)
{
    strcpy(journal_dir, "/tmp/shoal-journal-XXXXXX");
    cr_assert(mkdtemp(journal_dir) != NULL);
    snprintf(journal_path, sizeof(journal_path), "%s/jobs.db", journal_dir);
}

static void journal_teardown(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", journal_dir);
    cr_assert(eq(int, system(cmd), 0));
}

TestSuite(journal,
          .init = journal_setup,
          .fini = journal_teardown,
          .timeout = 30);

static const char *params_of(uint64_t i, void *arg)
{
    static char text[64];

    (void)arg;
    snprintf(text, sizeof(text), "{\"\":\"%lu\"}", (unsigned long)i);
    return text;
}

static uint64_t make_job(struct journal *j, uint64_t n, int retries)
{
    struct journal_job_spec spec = {.name = "t",
                                    .desc = "{}",
                                    .cores = 1,
                                    .retries = retries,
                                    .submitted = 1.0};
    shoal_error_t err = {{0}};
    uint64_t id = 0;

    cr_assert(
        eq(int, journal_job_create(j, &spec, n, params_of, NULL, &id, &err), 0),
        "%s", err.text);
    return id;
}

static struct journal_result
result_of(const struct journal_lease *l, uint64_t node, int status)
{
    return (struct journal_result){.job = l->job,
                                   .task = l->task,
                                   .attempt = l->attempt,
                                   .token = l->token,
                                   .node = node,
                                   .start = 1,
                                   .end = 2,
                                   .status = status,
                                   .err_tail = status ? "boom" : NULL};
}

static void counts(struct journal *j, uint64_t id, uint64_t want[5], int st)
{
    struct journal_job_info info;

    cr_assert(eq(int, journal_job_get(j, id, &info), 0));
    for (int i = 0; i < JOURNAL_TASK_NSTATES; i++)
        cr_assert(eq(u64, info.count[i], want[i]), "count of %s",
                  journal_task_state_name(i));
    cr_assert(eq(int, (int)info.state, st), "job state %s",
              journal_job_state_name(info.state));
    journal_job_info_release(&info);
}

Test(journal, ten_thousand_tasks_insert_in_one_quick_transaction)
{
    struct journal *j;
    shoal_error_t err = {{0}};
    struct timespec a, b;
    uint64_t id;

    cr_assert(eq(int, journal_open(journal_path, &j, &err), 0), "%s", err.text);
    clock_gettime(CLOCK_MONOTONIC, &a);
    id = make_job(j, 10000, 0);
    clock_gettime(CLOCK_MONOTONIC, &b);
    cr_assert(eq(u64, id, 1));
    cr_assert(
        lt(dbl, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, 2.0),
        "10,000 tasks took too long to record");
    counts(j, id, (uint64_t[]){10000, 0, 0, 0, 0}, JOURNAL_JOB_RUNNING);
    journal_close(j);
}

Test(journal, lease_takes_oldest_first_within_the_core_budget)
{
    struct journal *j;
    struct journal_lease l[8];
    uint64_t a, b;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    a = make_job(j, 3, 0);
    b = make_job(j, 3, 0);
    cr_assert(eq(int, journal_lease(j, 7, 4, false, 10, 30, l, 8), 4));
    cr_assert(eq(u64, l[0].job, a));
    cr_assert(eq(u64, l[2].task, 2));
    cr_assert(eq(u64, l[3].job, b));
    cr_assert(eq(u64, l[3].task, 0));
    cr_assert(eq(u32, l[0].attempt, 1));
    cr_assert(eq(int, journal_lease(j, 7, 1, false, 10, 30, l, 0), 0),
              "max 0 leases nothing");
    counts(j, a, (uint64_t[]){0, 3, 0, 0, 0}, JOURNAL_JOB_RUNNING);
    journal_close(j);
}

Test(journal, a_late_duplicate_report_is_ignored_and_counted)
{
    struct journal *j;
    struct journal_lease first, second;
    struct journal_result r;
    enum journal_outcome o;
    struct journal_job_info info;
    uint64_t id;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    id = make_job(j, 1, 0);
    cr_assert(eq(int, journal_lease(j, 1, 1, false, 0, 10, &first, 1), 1));
    /* node 1 stops renewing; the lease expires and node 2 takes the task */
    cr_assert(eq(int, journal_expire(j, 5), 0), "not expired yet");
    cr_assert(eq(int, journal_expire(j, 11), 1));
    cr_assert(eq(int, journal_lease(j, 2, 1, false, 11, 10, &second, 1), 1));
    cr_assert(eq(u32, second.attempt, 2));
    /* node 1 was only slow: its report arrives after the re-lease */
    r = result_of(&first, 1, 0);
    cr_assert(eq(int, journal_record(j, &r, 1, 12, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_STALE));
    counts(j, id, (uint64_t[]){0, 1, 0, 0, 0}, JOURNAL_JOB_RUNNING);
    r = result_of(&second, 2, 0);
    cr_assert(eq(int, journal_record(j, &r, 1, 13, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_DONE));
    /* the same report twice (a duplicate, not stale), and the first
     * worker once more */
    cr_assert(eq(int, journal_record(j, &r, 1, 14, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_DUPLICATE));
    r = result_of(&first, 1, 1);
    cr_assert(eq(int, journal_record(j, &r, 1, 14, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_STALE));
    counts(j, id, (uint64_t[]){0, 0, 1, 0, 0}, JOURNAL_JOB_DONE);
    cr_assert(eq(int, journal_job_get(j, id, &info), 0));
    cr_assert(eq(u64, info.stale_reports, 2));
    cr_assert(eq(dbl, info.finished, 13));
    journal_job_info_release(&info);
    journal_close(j);
}

Test(journal, a_forged_token_is_not_recorded)
{
    struct journal *j;
    struct journal_lease l;
    struct journal_result r;
    enum journal_outcome o;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    make_job(j, 1, 0);
    cr_assert(eq(int, journal_lease(j, 1, 1, false, 0, 10, &l, 1), 1));
    r = result_of(&l, 1, 0);
    r.token ^= 1;
    cr_assert(eq(int, journal_record(j, &r, 1, 1, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_STALE));
    journal_close(j);
}

static void keep_row(const struct journal_task_row *row, void *arg)
{
    struct journal_task_row *out = arg;

    *out = *row;
    out->err_tail = row->err_tail ? strdup(row->err_tail) : NULL;
}

Test(journal, failures_retry_on_another_node_then_fail_for_good)
{
    struct journal *j;
    struct journal_lease l;
    struct journal_result r;
    struct journal_task_row row;
    enum journal_outcome o;
    uint64_t id;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    id = make_job(j, 1, 2);
    for (int attempt = 1; attempt <= 3; attempt++) {
        uint64_t node = (uint64_t)attempt;

        /* the node that failed it last does not get it back while
         * another node could take it */
        if (attempt > 1)
            cr_assert(
                eq(int, journal_lease(j, node - 1, 1, true, 0, 10, &l, 1), 0),
                "attempt %d went back to the failing node", attempt);
        cr_assert(eq(int, journal_lease(j, node, 1, true, 0, 10, &l, 1), 1));
        cr_assert(eq(u32, l.attempt, (uint32_t)attempt));
        r = result_of(&l, node, 3);
        cr_assert(eq(int, journal_record(j, &r, 1, 1, &o), 0));
        cr_assert(
            eq(int, (int)o,
               attempt < 3 ? JOURNAL_OUTCOME_RETRY : JOURNAL_OUTCOME_FAILED));
    }
    counts(j, id, (uint64_t[]){0, 0, 0, 1, 0}, JOURNAL_JOB_FAILED);
    cr_assert(eq(int, journal_tasks(j, id, 0, 10, keep_row, &row), 1));
    cr_assert(eq(u32, row.attempts, 3));
    cr_assert(eq(int, row.status, 3));
    cr_assert(eq(str, (char *)row.err_tail, "boom"));
    free((char *)row.err_tail);
    journal_close(j);
}

Test(journal, a_vacated_task_runs_again_without_using_a_retry)
{
    struct journal *j;
    struct journal_lease l;
    struct journal_result r;
    enum journal_outcome o;
    uint64_t id;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    id = make_job(j, 1, 0); /* no retry at all */
    /* its node's owner takes the node back twice: queued again each time */
    for (int attempt = 1; attempt <= 2; attempt++) {
        cr_assert(eq(int, journal_lease(j, 7, 1, true, 0, 10, &l, 1), 1));
        r = result_of(&l, 7, 128 + 15);
        r.vacated = true;
        r.reason = "vacated: the node's owner took it back";
        cr_assert(eq(int, journal_record(j, &r, 1, 1, &o), 0));
        cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_RETRY));
        counts(j, id, (uint64_t[]){1, 0, 0, 0, 0}, JOURNAL_JOB_RUNNING);
    }
    /* a real failure then ends it: the vacates used up nothing */
    cr_assert(eq(int, journal_lease(j, 8, 1, true, 0, 10, &l, 1), 1));
    cr_assert(eq(u32, l.attempt, 3));
    r = result_of(&l, 8, 3);
    cr_assert(eq(int, journal_record(j, &r, 1, 1, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_FAILED));
    counts(j, id, (uint64_t[]){0, 0, 0, 1, 0}, JOURNAL_JOB_FAILED);
    journal_close(j);
}

Test(journal, renew_keeps_a_lease_and_refuses_a_lost_one)
{
    struct journal *j;
    struct journal_lease l[2], other;
    bool valid[2];

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    make_job(j, 2, 0);
    cr_assert(eq(int, journal_lease(j, 1, 2, false, 0, 10, l, 2), 2));
    cr_assert(eq(int, journal_renew(j, l, 1, 8, 10, valid), 1));
    cr_assert(eq(int, journal_expire(j, 12), 1), "only the unrenewed one");
    cr_assert(eq(int, journal_lease(j, 2, 1, false, 12, 10, &other, 1), 1));
    cr_assert(eq(int, journal_renew(j, l, 2, 12, 10, valid), 1));
    cr_assert(valid[0]);
    cr_assert(not(valid[1]));
    journal_close(j);
}

/* A prefetched lease waits for cores on its worker: the job counts it
 * leased, not running, until a renewal says its task started; a task
 * leased again under a new attempt is not running until said again. */
Test(journal, a_lease_counts_as_running_once_its_worker_says_it_started)
{
    struct journal *j;
    struct journal_lease l[3], again;
    struct journal_job_info info;
    uint64_t id;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    id = make_job(j, 3, 0);
    cr_assert(eq(int, journal_lease(j, 1, 3, false, 0, 10, l, 3), 3));
    cr_assert(eq(int, journal_job_get(j, id, &info), 0));
    cr_assert(eq(u64, info.count[JOURNAL_TASK_LEASED], 3));
    cr_assert(eq(u64, info.started, 0), "a grant alone starts nothing");
    journal_job_info_release(&info);

    l[0].started = 4;
    l[1].started = 5;
    cr_assert(eq(int, journal_renew(j, l, 3, 6, 10, NULL), 3));
    cr_assert(eq(int, journal_job_get(j, id, &info), 0));
    cr_assert(eq(u64, info.started, 2));
    journal_job_info_release(&info);

    /* task 0 ends; task 1's lease lapses and another node takes it */
    struct journal_result r = result_of(&l[0], 1, 0);
    cr_assert(eq(int, journal_record(j, &r, 1, 7, NULL), 0));
    cr_assert(eq(int, journal_expire(j, 20), 2));
    cr_assert(eq(int, journal_lease(j, 2, 1, false, 20, 10, &again, 1), 1));
    cr_assert(eq(u64, again.task, 1));
    cr_assert(eq(int, journal_job_get(j, id, &info), 0));
    cr_assert(eq(u64, info.count[JOURNAL_TASK_LEASED], 1));
    cr_assert(eq(u64, info.started, 0), "the new attempt has not started");
    journal_job_info_release(&info);

    /* a stale renewal of the old attempt marks nothing */
    cr_assert(eq(int, journal_renew(j, &l[1], 1, 21, 10, NULL), 0));
    cr_assert(eq(int, journal_job_get(j, id, &info), 0));
    cr_assert(eq(u64, info.started, 0));
    journal_job_info_release(&info);
    journal_close(j);
}

Test(journal, a_late_renewal_takes_back_a_task_still_queued)
{
    struct journal *j;
    struct journal_lease l, again;
    struct journal_result r;
    enum journal_outcome o;
    bool valid;
    uint64_t id;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    id = make_job(j, 1, 0);
    cr_assert(eq(int, journal_lease(j, 1, 1, false, 0, 10, &l, 1), 1));
    cr_assert(eq(int, journal_expire(j, 11), 1));
    counts(j, id, (uint64_t[]){1, 0, 0, 0, 0}, JOURNAL_JOB_RUNNING);
    /* the worker was cut off for a while, and renews when it is back */
    cr_assert(eq(int, journal_renew(j, &l, 1, 12, 10, &valid), 1));
    cr_assert(valid);
    counts(j, id, (uint64_t[]){0, 1, 0, 0, 0}, JOURNAL_JOB_RUNNING);
    cr_assert(eq(int, journal_lease(j, 2, 1, false, 12, 10, &again, 1), 0),
              "taken back: not for another node");
    cr_assert(eq(int, journal_expire(j, 21), 0), "renewed until 22");
    r = result_of(&l, 1, 0);
    cr_assert(eq(int, journal_record(j, &r, 1, 13, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_DONE));
    counts(j, id, (uint64_t[]){0, 0, 1, 0, 0}, JOURNAL_JOB_DONE);
    /* a renewal after the result is refused */
    cr_assert(eq(int, journal_renew(j, &l, 1, 14, 10, &valid), 0));
    cr_assert(not(valid));
    journal_close(j);
}

Test(journal, a_late_result_is_recorded_while_its_task_is_still_queued)
{
    struct journal *j;
    struct journal_lease l[2], again;
    struct journal_result r;
    struct journal_job_info info;
    enum journal_outcome o;
    uint64_t id;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    id = make_job(j, 2, 1);
    cr_assert(eq(int, journal_lease(j, 1, 2, false, 0, 10, l, 2), 2));
    /* both leases lapse (the worker was cut off): the tasks wait in the
     * queue */
    cr_assert(eq(int, journal_expire(j, 11), 2));
    counts(j, id, (uint64_t[]){2, 0, 0, 0, 0}, JOURNAL_JOB_RUNNING);
    /* the worker's results arrive before anyone took the tasks again: the
     * work is done, so it counts (a failure uses a retry as usual) */
    r = result_of(&l[0], 1, 0);
    cr_assert(eq(int, journal_record(j, &r, 1, 12, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_DONE));
    r = result_of(&l[1], 1, 3);
    cr_assert(eq(int, journal_record(j, &r, 1, 12, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_RETRY));
    counts(j, id, (uint64_t[]){1, 0, 1, 0, 0}, JOURNAL_JOB_RUNNING);
    /* the failed one, queued for its retry, does not take its own result
     * twice */
    cr_assert(eq(int, journal_record(j, &r, 1, 13, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_DUPLICATE));
    cr_assert(eq(int, journal_lease(j, 2, 2, false, 13, 10, &again, 1), 1));
    cr_assert(eq(u64, again.task, 1));
    cr_assert(eq(u32, again.attempt, 2));
    cr_assert(eq(int, journal_job_get(j, id, &info), 0));
    cr_assert(eq(u64, info.stale_reports, 0));
    journal_job_info_release(&info);
    journal_close(j);
}

Test(journal, a_late_result_is_refused_once_its_task_is_leased_again)
{
    struct journal *j;
    struct journal_lease l, again;
    struct journal_result r;
    struct journal_job_info info;
    enum journal_outcome o;
    uint64_t id;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    id = make_job(j, 1, 0);
    cr_assert(eq(int, journal_lease(j, 1, 1, false, 0, 10, &l, 1), 1));
    cr_assert(eq(int, journal_expire(j, 11), 1));
    cr_assert(eq(int, journal_lease(j, 2, 1, false, 11, 10, &again, 1), 1));
    r = result_of(&l, 1, 0);
    cr_assert(eq(int, journal_record(j, &r, 1, 12, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_STALE));
    counts(j, id, (uint64_t[]){0, 1, 0, 0, 0}, JOURNAL_JOB_RUNNING);
    /* nor once the new lease has lapsed in turn: only the last lease
     * counts */
    cr_assert(eq(int, journal_expire(j, 22), 1));
    cr_assert(eq(int, journal_record(j, &r, 1, 23, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_STALE));
    r = result_of(&again, 2, 0);
    cr_assert(eq(int, journal_record(j, &r, 1, 24, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_DONE));
    counts(j, id, (uint64_t[]){0, 0, 1, 0, 0}, JOURNAL_JOB_DONE);
    cr_assert(eq(int, journal_job_get(j, id, &info), 0));
    cr_assert(eq(u64, info.stale_reports, 2));
    journal_job_info_release(&info);
    journal_close(j);
}

static void keep_attempts(const struct journal_task_row *row, void *arg)
{
    *(uint32_t *)arg = row->attempts;
}

Test(journal, a_result_sent_again_is_a_duplicate_recorded_once)
{
    struct journal *j;
    struct journal_lease l;
    struct journal_result r[2];
    struct journal_job_info info;
    enum journal_outcome o[2];
    uint32_t attempts = 0;
    uint64_t id;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    id = make_job(j, 1, 0);
    cr_assert(eq(int, journal_lease(j, 1, 1, false, 0, 10, &l, 1), 1));
    r[0] = result_of(&l, 1, 0);
    cr_assert(eq(int, journal_record(j, r, 1, 1, o), 0));
    cr_assert(eq(int, (int)o[0], JOURNAL_OUTCOME_DONE));
    /* the acknowledgement was lost: the worker sends it again, twice in
     * one batch */
    r[1] = r[0];
    r[1].status = 7;
    cr_assert(eq(int, journal_record(j, r, 2, 2, o), 0));
    cr_assert(eq(int, (int)o[0], JOURNAL_OUTCOME_DUPLICATE));
    cr_assert(eq(int, (int)o[1], JOURNAL_OUTCOME_DUPLICATE));
    counts(j, id, (uint64_t[]){0, 0, 1, 0, 0}, JOURNAL_JOB_DONE);
    cr_assert(eq(int, journal_tasks(j, id, 0, 1, keep_attempts, &attempts), 1));
    cr_assert(eq(u32, attempts, 1));
    cr_assert(eq(int, journal_job_get(j, id, &info), 0));
    cr_assert(eq(u64, info.stale_reports, 0));
    cr_assert(eq(dbl, info.finished, 1), "finished by the first report");
    journal_job_info_release(&info);
    journal_close(j);
}

Test(journal, a_restarted_home_gives_leases_a_full_term)
{
    struct journal *j;
    struct journal_lease l[2];

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    make_job(j, 2, 0);
    cr_assert(eq(int, journal_lease(j, 1, 1, false, 0, 10, &l[0], 1), 1));
    cr_assert(eq(int, journal_lease(j, 2, 1, false, 0, 30, &l[1], 1), 1));
    cr_assert(eq(int, journal_extend(j, 20), 1), "not the longer one");
    cr_assert(eq(int, journal_expire(j, 19), 0));
    cr_assert(eq(int, journal_expire(j, 21), 1));
    journal_close(j);
}

Test(journal, cancel_ends_queued_and_leased_tasks)
{
    struct journal *j;
    struct journal_lease l;
    struct journal_result r;
    enum journal_outcome o;
    uint64_t id;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    id = make_job(j, 5, 0);
    cr_assert(eq(int, journal_lease(j, 1, 1, false, 0, 10, &l, 1), 1));
    cr_assert(eq(int, journal_job_cancel(j, id, 3), 5));
    counts(j, id, (uint64_t[]){0, 0, 0, 0, 5}, JOURNAL_JOB_CANCELLED);
    r = result_of(&l, 1, 0);
    cr_assert(eq(int, journal_record(j, &r, 1, 4, &o), 0));
    cr_assert(eq(int, (int)o, JOURNAL_OUTCOME_STALE));
    cr_assert(eq(int, journal_lease(j, 1, 4, false, 0, 10, &l, 1), 0));
    cr_assert(eq(int, journal_job_cancel(j, id, 3), 0));
    cr_assert(eq(int, journal_job_cancel(j, 99, 3), -ENOENT));
    journal_close(j);
}

Test(journal, reopened_after_a_crash_the_job_carries_on)
{
    struct journal *j;
    struct journal_lease l[4];
    struct journal_result r;
    pid_t pid = fork();
    int status;

    cr_assert(pid >= 0);
    if (pid == 0) {
        /* the daemon: records a job, leases, records one result, dies */
        if (journal_open(journal_path, &j, NULL) < 0)
            _exit(1);
        make_job(j, 4, 0);
        if (journal_lease(j, 1, 4, false, 0, 10, l, 4) != 4)
            _exit(2);
        r = result_of(&l[0], 1, 0);
        if (journal_record(j, &r, 1, 1, NULL) < 0)
            _exit(3);
        _exit(0); /* no journal_close */
    }
    cr_assert(eq(int, waitpid(pid, &status, 0), pid));
    cr_assert(eq(int, status, 0));
    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    counts(j, 1, (uint64_t[]){0, 3, 1, 0, 0}, JOURNAL_JOB_RUNNING);
    /* its tasks died with it: re-queue them and finish the job */
    cr_assert(eq(int, journal_requeue_node(j, 1), 3));
    cr_assert(eq(int, journal_lease(j, 1, 4, false, 0, 10, l, 4), 3));
    for (int i = 0; i < 3; i++) {
        r = result_of(&l[i], 1, 0);
        cr_assert(eq(int, journal_record(j, &r, 1, 2, NULL), 0));
    }
    counts(j, 1, (uint64_t[]){0, 0, 4, 0, 0}, JOURNAL_JOB_DONE);
    cr_assert(not(journal_busy(j)));
    journal_close(j);
}

Test(journal, an_unwritable_path_is_named)
{
    struct journal *j;
    shoal_error_t err = {{0}};

    cr_assert(lt(int, journal_open("/nonexistent/dir/jobs.db", &j, &err), 0));
    cr_assert(strstr(err.text, "cannot open journal '/nonexistent/dir/jobs.db'")
                  != NULL,
              "%s", err.text);
}

/* Write a journal of n tasks, closed, and return its size. */
static long journal_make_file(uint64_t n)
{
    struct journal *j;
    FILE *f;
    long size;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    make_job(j, n, 0);
    journal_close(j);
    f = fopen(journal_path, "rb");
    cr_assert(f != NULL);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
    return size;
}

/* Overwrite len bytes at off with a pattern that is no valid b-tree page. */
static void journal_damage(long off, long len)
{
    FILE *f = fopen(journal_path, "r+b");

    cr_assert(f != NULL);
    fseek(f, off, SEEK_SET);
    for (long i = 0; i < len; i++)
        fputc((int)(0xa5 ^ (i * 37)), f);
    fclose(f);
}

static char *journal_slurp(long *size)
{
    FILE *f = fopen(journal_path, "rb");
    char *bytes;

    cr_assert(f != NULL);
    fseek(f, 0, SEEK_END);
    *size = ftell(f);
    rewind(f);
    bytes = malloc((size_t)*size + 1);
    cr_assert(bytes != NULL);
    cr_assert(eq(sz, fread(bytes, 1, (size_t)*size, f), (size_t)*size));
    fclose(f);
    return bytes;
}

static void journal_assert_refused_untouched(void)
{
    struct journal *j = NULL;
    shoal_error_t err = {{0}};
    long before_size, after_size;
    char *before = journal_slurp(&before_size), *after;

    cr_assert(eq(int, journal_open(journal_path, &j, &err), -EUCLEAN), "%s",
              err.text);
    cr_assert(j == NULL);
    cr_assert(strstr(err.text, journal_path) != NULL, "%s", err.text);
    cr_assert(strstr(err.text, "is damaged (SQLite: ") != NULL, "%s", err.text);
    cr_assert(strstr(err.text, "move it aside") != NULL, "%s", err.text);
    after = journal_slurp(&after_size);
    cr_assert(eq(long, after_size, before_size));
    cr_assert(memcmp(before, after, (size_t)before_size) == 0,
              "a refused journal was written to");
    free(before);
    free(after);
}

Test(journal, damaged_middle_pages_are_refused_and_left_untouched)
{
    long size = journal_make_file(5000);

    cr_assert(gt(long, size, 32 * 4096L), "the journal is %ld bytes", size);
    journal_damage(size / 2, 3 * 4096);
    journal_assert_refused_untouched();
}

Test(journal, damaged_tail_pages_are_refused)
{
    long size = journal_make_file(5000);

    journal_damage(size - 2 * 4096, 2 * 4096);
    journal_assert_refused_untouched();
}

Test(journal, random_bytes_are_not_a_journal)
{
    FILE *f = fopen(journal_path, "wb");

    cr_assert(f != NULL);
    for (int i = 0; i < 8192; i++)
        fputc((i * 131 + 7) & 0xff, f);
    fclose(f);
    journal_assert_refused_untouched();
}

Test(journal, an_overwritten_header_is_refused)
{
    journal_make_file(100);
    journal_damage(0, 100);
    journal_assert_refused_untouched();
}

Test(journal, a_truncated_journal_is_refused)
{
    long size = journal_make_file(5000);

    cr_assert(eq(int, truncate(journal_path, size / 3), 0));
    journal_assert_refused_untouched();
}

Test(journal, an_empty_file_becomes_a_new_journal)
{
    struct journal *j;
    FILE *f = fopen(journal_path, "wb");

    cr_assert(f != NULL);
    fclose(f);
    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    cr_assert(eq(u64, make_job(j, 1, 0), 1));
    journal_close(j);
}

Test(journal, an_id_floor_numbers_new_jobs_above_it_and_never_lowers)
{
    struct journal *j;

    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    cr_assert(eq(int, journal_id_floor(j, 41), 0));
    cr_assert(eq(u64, make_job(j, 1, 0), 42));
    cr_assert(eq(int, journal_id_floor(j, 7), 0));
    cr_assert(eq(u64, make_job(j, 1, 0), 43));
    journal_close(j);
    /* kept across a reopen */
    cr_assert(eq(int, journal_open(journal_path, &j, NULL), 0));
    cr_assert(eq(int, journal_id_floor(j, 0), 0));
    cr_assert(eq(u64, make_job(j, 1, 0), 44));
    journal_close(j);
}

static uint64_t make_job_after(struct journal *j,
                               uint64_t n,
                               const uint64_t *after,
                               size_t nafter)
{
    struct journal_job_spec spec = {.desc = "{}",
                                    .cores = 1,
                                    .submitted = 1.0,
                                    .after = after,
                                    .nafter = nafter};
    shoal_error_t err = {{0}};
    uint64_t id = 0;

    cr_assert(
        eq(int, journal_job_create(j, &spec, n, params_of, NULL, &id, &err), 0),
        "%s", err.text);
    return id;
}

/* Lease everything leasable and record it with status; returns how many. */
static int run_all(struct journal *j, int status)
{
    struct journal_lease l[16];
    struct journal_result r[16];
    int n = journal_lease(j, 7, 16, false, 10.0, 30.0, l, 16);

    cr_assert(n >= 0);
    for (int i = 0; i < n; i++)
        r[i] = result_of(&l[i], 7, status);
    cr_assert(eq(int, journal_record(j, r, (size_t)n, 11.0, NULL), 0));
    return n;
}

Test(journal, a_job_after_others_waits_until_they_are_done)
{
    struct journal *j;
    struct journal_job_info info;
    shoal_error_t err = {{0}};
    uint64_t a, b, c, deps[2];

    cr_assert(eq(int, journal_open(journal_path, &j, &err), 0), "%s", err.text);
    a = make_job(j, 2, 0);
    b = make_job(j, 1, 0);
    deps[0] = a;
    deps[1] = b;
    c = make_job_after(j, 3, deps, 2);
    cr_assert(eq(int, journal_job_get(j, c, &info), 0));
    cr_assert(info.held, "job %lu is not held", (unsigned long)c);
    cr_assert(eq(str, info.after, "1,2"));
    journal_job_info_release(&info);
    /* only a's and b's tasks are leased while c is held */
    cr_assert(eq(int, run_all(j, 0), 3));
    cr_assert(journal_released(j), "c was not released once a and b ended");
    cr_assert(not(journal_released(j)), "the flag is not cleared");
    cr_assert(eq(int, run_all(j, 0), 3));
    cr_assert(eq(int, journal_job_get(j, c, &info), 0));
    cr_assert(eq(int, info.state, JOURNAL_JOB_DONE));
    cr_assert(not(info.held));
    journal_job_info_release(&info);
    /* a job after a done one is not held at all */
    c = make_job_after(j, 1, &a, 1);
    cr_assert(eq(int, run_all(j, 0), 1));
    journal_close(j);
}

Test(journal, a_failed_or_cancelled_dependency_fails_the_jobs_after_it)
{
    struct journal *j;
    struct journal_job_info info;
    shoal_error_t err = {{0}};
    uint64_t a, b, c, d, e;

    cr_assert(eq(int, journal_open(journal_path, &j, &err), 0), "%s", err.text);
    a = make_job(j, 1, 0);
    b = make_job_after(j, 2, &a, 1);
    c = make_job_after(j, 1, &b, 1); /* fails in turn */
    d = make_job(j, 1, 0);
    e = make_job_after(j, 1, &d, 1);
    cr_assert(eq(int, journal_job_cancel(j, d, 5.0), 1));
    cr_assert(eq(int, run_all(j, 1), 1), "only a runs");
    cr_assert(not(journal_released(j)));
    cr_assert(eq(int, journal_job_get(j, b, &info), 0));
    cr_assert(eq(int, info.state, JOURNAL_JOB_FAILED));
    cr_assert(eq(str, info.reason ? info.reason : "", "dependency 1 failed"));
    cr_assert(eq(u64, info.count[JOURNAL_TASK_CANCELLED], 2));
    cr_assert(eq(u64, info.count[JOURNAL_TASK_QUEUED], 0));
    journal_job_info_release(&info);
    cr_assert(eq(int, journal_job_get(j, c, &info), 0));
    cr_assert(eq(int, info.state, JOURNAL_JOB_FAILED));
    cr_assert(eq(str, info.reason ? info.reason : "", "dependency 2 failed"));
    journal_job_info_release(&info);
    cr_assert(eq(int, journal_job_get(j, e, &info), 0));
    cr_assert(eq(int, info.state, JOURNAL_JOB_FAILED));
    cr_assert(
        eq(str, info.reason ? info.reason : "", "dependency 4 was cancelled"));
    journal_job_info_release(&info);
    cr_assert(not(journal_busy(j)), "a job still runs");
    /* a job after a failed one fails as it is made */
    e = make_job_after(j, 1, &a, 1);
    cr_assert(eq(int, journal_job_get(j, e, &info), 0));
    cr_assert(eq(int, info.state, JOURNAL_JOB_FAILED));
    journal_job_info_release(&info);
    journal_close(j);
}

Test(journal, a_dependency_on_no_job_is_refused_and_creates_nothing)
{
    struct journal *j;
    struct journal_job_info info;
    struct journal_job_spec spec = {.desc = "{}", .cores = 1};
    shoal_error_t err = {{0}};
    uint64_t missing = 5, id = 0;

    cr_assert(eq(int, journal_open(journal_path, &j, &err), 0), "%s", err.text);
    spec.after = &missing;
    spec.nafter = 1;
    cr_assert(eq(int,
                 journal_job_create(j, &spec, 1, params_of, NULL, &id, &err),
                 -ENOENT));
    cr_assert(eq(str, err.text, "no job 5 to run after"));
    cr_assert(eq(int, journal_job_get(j, 1, &info), -ENOENT));
    journal_close(j);
}

Test(journal, held_jobs_and_their_dependencies_survive_a_reopen)
{
    struct journal *j;
    struct journal_job_info info;
    shoal_error_t err = {{0}};
    uint64_t a, b;

    cr_assert(eq(int, journal_open(journal_path, &j, &err), 0), "%s", err.text);
    a = make_job(j, 1, 0);
    b = make_job_after(j, 1, &a, 1);
    journal_close(j);
    cr_assert(eq(int, journal_open(journal_path, &j, &err), 0), "%s", err.text);
    cr_assert(eq(int, journal_job_get(j, b, &info), 0));
    cr_assert(info.held);
    journal_job_info_release(&info);
    cr_assert(eq(int, run_all(j, 0), 1), "b ran before a ended");
    cr_assert(eq(int, run_all(j, 0), 1), "b was not released");
    journal_close(j);
}

Test(journal, a_journal_from_before_dependencies_gains_them)
{
    struct journal *j;
    struct journal_job_info info;
    shoal_error_t err = {{0}};
    char cmd[2048];

    /* the jobs table as it was, with one job in it */
    snprintf(
        cmd, sizeof(cmd),
        "python3 -c \"import sqlite3; c = sqlite3.connect('%s');"
        " c.execute('CREATE TABLE jobs (id INTEGER PRIMARY KEY"
        " AUTOINCREMENT, name TEXT, desc TEXT NOT NULL, cores INTEGER NOT"
        " NULL, retries INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT"
        " 0, ntasks INTEGER NOT NULL, n0 INTEGER NOT NULL DEFAULT 0, n1"
        " INTEGER NOT NULL DEFAULT 0, n2 INTEGER NOT NULL DEFAULT 0, n3"
        " INTEGER NOT NULL DEFAULT 0, n4 INTEGER NOT NULL DEFAULT 0, stale"
        " INTEGER NOT NULL DEFAULT 0, submitted REAL NOT NULL, finished"
        " REAL NOT NULL DEFAULT 0)'); c.execute(\\\"INSERT INTO jobs (desc,"
        " cores, retries, ntasks, submitted) VALUES ('{}', 1, 0, 0, 1)\\\");"
        " c.commit()\"",
        journal_path);
    cr_assert(eq(int, system(cmd), 0));
    cr_assert(eq(int, journal_open(journal_path, &j, &err), 0), "%s", err.text);
    cr_assert(eq(int, journal_job_get(j, 1, &info), 0));
    cr_assert(not(info.held));
    journal_job_info_release(&info);
    cr_assert(eq(u64, make_job_after(j, 1, (uint64_t[]){1}, 1), 2));
    journal_close(j);
}
