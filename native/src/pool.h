// A persistent thread pool over the machine's cores. The calling thread takes part; workers wait by
// spinning briefly, then sleeping on a futex. Tasks are claimed dynamically, so a busy core delays no one.
#pragma once

namespace nabla {

typedef void (*TaskFn)(void* ctx, long task, int thread);

/** Run fn(ctx, t, thread) for t < ntasks on up to `threads()` threads; returns when all are done.
 *  `thread` is in [0, threads()) and identifies per-thread scratch. Not reentrant. */
void parallel_for(long ntasks, TaskFn fn, void* ctx);

/** Threads used (calling thread included). */
int pool_threads();
/** Set the thread count (1 … 64); workers are started or stopped as needed. */
void pool_set_threads(int n);
/** The number of CPUs this process may run on. */
int pool_cpu_count();
/** How long an idle worker spins before sleeping, in microseconds. */
void pool_set_spin_us(int us);
int pool_spin_us();

/** Whether a job would be shared now (false with one thread, or while the pool backs off on a busy
 *  machine, in which case the declined job is counted). For drivers with a better serial path. */
bool pool_try_parallel();

/** Jobs given to the pool, jobs where a descheduled worker stalled the caller, and jobs run serially
 *  afterwards or while the load average is high (see the contention backoff in pool.cc). */
struct PoolStats { long jobs, stalls, serial_jobs; };
PoolStats pool_stats();

} // namespace nabla
