// Thread pool: one job at a time, published through a 64-bit ticket (generation << 32 | next task) so
// that a worker which wakes late can never claim a task of a later job.
#include "pool.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#else
#include <condition_variable>
#include <mutex>
#endif
#if defined(__x86_64__)
#include <immintrin.h>
#define NB_PAUSE() _mm_pause()
#else
#define NB_PAUSE() ((void)0)
#endif

namespace nabla {
namespace {

struct Job {
  std::atomic<TaskFn> fn{nullptr};
  std::atomic<void*> ctx{nullptr};
  std::atomic<long> ntasks{0};
  std::atomic<uint64_t> ticket{0}; // generation << 32 | next unclaimed task
  std::atomic<long> done{0};
};

Job job;
std::atomic<uint32_t> wake_word{0}; // the generation, as a futex word
std::atomic<int> sleepers{0};
std::atomic<bool> stopping{false};
std::vector<std::thread> workers;
int nthreads = 1;
std::atomic<int> spin_us{100};
uint32_t generation = 0;
std::atomic_flag busy = ATOMIC_FLAG_INIT; // one job at a time; a concurrent caller runs its tasks alone

#if defined(__linux__)
void futex_wait(std::atomic<uint32_t>* w, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(w), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}
void futex_wake_all(std::atomic<uint32_t>* w) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(w), FUTEX_WAKE_PRIVATE, 0x7fffffff, nullptr, nullptr, 0);
}
#else
std::mutex mu;
std::condition_variable cv;
void futex_wait(std::atomic<uint32_t>* w, uint32_t expected) {
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return w->load() != expected; });
}
void futex_wake_all(std::atomic<uint32_t>*) {
  { std::lock_guard<std::mutex> lock(mu); }
  cv.notify_all();
}
#endif

/** Claim and run tasks of generation gen until none is left; returns how many this thread ran. */
long run_tasks(uint32_t gen, int thread) {
  long ran = 0;
  for (;;) {
    uint64_t t = job.ticket.load(std::memory_order_acquire);
    if ((uint32_t)(t >> 32) != gen) return ran;
    long idx = (long)(uint32_t)t;
    TaskFn fn = job.fn.load(std::memory_order_relaxed);
    void* ctx = job.ctx.load(std::memory_order_relaxed);
    long n = job.ntasks.load(std::memory_order_relaxed);
    if (idx >= n) return ran;
    // a successful claim proves that fn, ctx and n above belong to generation gen
    if (!job.ticket.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) continue;
    fn(ctx, idx, thread);
    ran++;
    job.done.fetch_add(1, std::memory_order_release);
  }
}

/** How long an idle worker spins: spin_us, or up to 10× that while the recent gaps between jobs are shorter
 *  (a training loop's products and kernels, between its op-layer work), so that the next job does not wait on
 *  a wake-up (a futex wake costs the caller 5–10 µs on a virtual machine). gap_ema: recent idle gaps, in ns.
 *  A worker descheduled while spinning (other processes want its core, and spinning would slow them and the
 *  caller) spins a tenth of spin_us for the next BUSY; so do all while the load average says the machine is busy. */
const double GAP_RESET_NS = 1e9; // the gap average a worker starts from, and returns to when descheduled
const auto BUSY = std::chrono::milliseconds(100);

/** Whether other processes keep the machine's cores busy: the 1-minute load average above the machine's online
 *  CPUs + 1 (this process counts for up to its threads), read at most every 100 ms. The machine's CPUs, not
 *  this process's: in a container the load average is the host's. */
bool machine_busy() {
  static std::atomic<long> checked_ms{-1000};
  static std::atomic<bool> busy{false};
  long now = (long)std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  long last = checked_ms.load(std::memory_order_relaxed);
  if (now - last >= 100 && checked_ms.compare_exchange_strong(last, now)) {
    double load[1];
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    busy.store(cpus > 0 && getloadavg(load, 1) == 1 && load[0] > cpus + 1, std::memory_order_relaxed);
  }
  return busy.load(std::memory_order_relaxed);
}

std::chrono::nanoseconds spin_limit(double gap_ema, bool busy) {
  double base = 1000.0 * spin_us.load(std::memory_order_relaxed), cap = 10 * base;
  if (busy) return std::chrono::nanoseconds((long)(base / 10));
  double want = gap_ema < cap ? 1.5 * gap_ema : base;
  return std::chrono::nanoseconds((long)(want > cap ? cap : want < base ? base : want));
}

void worker_main(int thread) {
  uint32_t seen = wake_word.load(std::memory_order_acquire);
  double gap_ema = GAP_RESET_NS;
  auto busy_until = std::chrono::steady_clock::now();
  for (;;) {
    uint32_t g = wake_word.load(std::memory_order_acquire);
    if (g == seen) {
      const auto idle_since = std::chrono::steady_clock::now();
      auto start = idle_since, last = idle_since;
      auto limit = spin_limit(gap_ema, idle_since < busy_until || machine_busy());
      int spins = 0;
      while ((g = wake_word.load(std::memory_order_acquire)) == seen && !stopping.load(std::memory_order_relaxed)) {
        NB_PAUSE();
        if (++spins == 64) {
          spins = 0;
          auto now = std::chrono::steady_clock::now();
          if (now - last > std::chrono::microseconds(200)) { // descheduled while spinning
            gap_ema = GAP_RESET_NS;
            busy_until = now + BUSY;
            limit = spin_limit(gap_ema, true);
          }
          last = now;
          if (now - start > limit) {
            sleepers.fetch_add(1, std::memory_order_seq_cst);
            if (wake_word.load(std::memory_order_seq_cst) == seen && !stopping.load()) futex_wait(&wake_word, seen);
            sleepers.fetch_sub(1, std::memory_order_seq_cst);
            start = last = std::chrono::steady_clock::now();
            limit = spin_limit(gap_ema, start < busy_until || machine_busy());
          }
        }
      }
      double gap = (double)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - idle_since).count();
      gap_ema = 0.75 * gap_ema + 0.25 * gap;
    }
    if (stopping.load(std::memory_order_acquire)) return;
    seen = g;
    run_tasks(g, thread);
  }
}

void stop_workers() {
  stopping.store(true, std::memory_order_seq_cst);
  if (++generation == 0) ++generation;
  wake_word.store(generation, std::memory_order_seq_cst);
  futex_wake_all(&wake_word);
  for (auto& t : workers) t.join();
  workers.clear();
  stopping.store(false);
}

void start_workers(int n) {
  for (int i = 1; i < n; i++) workers.emplace_back(worker_main, i);
}

int initial_threads() {
  const char* env = getenv("NABLA_NUM_THREADS");
  int n = env ? atoi(env) : 0;
  if (n <= 0) n = pool_cpu_count();
  return n < 1 ? 1 : n > 64 ? 64 : n;
}

struct Init {
  Init() {
    const char* env = getenv("NABLA_SPIN_US");
    if (env) spin_us.store(atoi(env));
    nthreads = initial_threads();
    start_workers(nthreads);
  }
  ~Init() { stop_workers(); }
};

Init& init() {
  static Init i;
  return i;
}

} // namespace

int pool_cpu_count() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  unsigned n = std::thread::hardware_concurrency();
  return n ? (int)n : 1;
}

int pool_threads() {
  init();
  return nthreads;
}

void pool_set_threads(int n) {
  init();
  if (n < 1) n = 1;
  if (n > 64) n = 64;
  if (n == nthreads) return;
  stop_workers();
  nthreads = n;
  start_workers(n);
}

void pool_set_spin_us(int us) { spin_us.store(us < 0 ? 0 : us); }
int pool_spin_us() { return spin_us.load(); }

// Contention backoff: when the calling thread has to wait long for a worker that took a task and was then
// descheduled (the machine's cores are busy with other processes), jobs run on the calling thread alone
// for a while (2 ms, doubling up to 100 ms each time it happens again), then the pool is tried again. "Long" is
// more than half the time the caller spent on tasks itself, plus 20 µs: a balanced job waits at most about
// one task.
// Likewise when the workers took no task at all in several jobs in a row (their cores were busy).
const long STALL_NS = 20000;
const long IDLE_JOBS = 4;
const long BACKOFF_MIN_NS = 2000000, BACKOFF_MAX_NS = 100000000;
long jobs = 0, stalls = 0, serial_jobs = 0, idle_streak = 0;
long backoff_ns = BACKOFF_MIN_NS;
std::chrono::steady_clock::time_point serial_until{};

void back_off() {
  serial_until = std::chrono::steady_clock::now() + std::chrono::nanoseconds(backoff_ns);
  if (backoff_ns < BACKOFF_MAX_NS) backoff_ns *= 2;
}

void relax() {
  if (backoff_ns > BACKOFF_MIN_NS) backoff_ns /= 2;
}

/** Jobs run on the calling thread alone during a backoff, and while the load average says other processes keep
 *  the cores busy (as the wasm pool does: a second thread then mostly waits for a core, and slows the caller). */
bool backing_off() { return std::chrono::steady_clock::now() < serial_until || machine_busy(); }

void parallel_for(long ntasks, TaskFn fn, void* ctx) {
  init();
  if (ntasks <= 0) return;
  if (nthreads == 1 || ntasks == 1 || busy.test_and_set(std::memory_order_acquire)) {
    for (long t = 0; t < ntasks; t++) fn(ctx, t, 0);
    return;
  }
  ++jobs;
  if (backing_off()) {
    serial_jobs++;
    busy.clear(std::memory_order_release);
    for (long t = 0; t < ntasks; t++) fn(ctx, t, 0);
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  uint32_t gen = ++generation;
  if (gen == 0) gen = ++generation; // never reuse generation 0 (the idle ticket)
  job.fn.store(fn, std::memory_order_relaxed);
  job.ctx.store(ctx, std::memory_order_relaxed);
  job.ntasks.store(ntasks, std::memory_order_relaxed);
  job.done.store(0, std::memory_order_relaxed);
  job.ticket.store((uint64_t)gen << 32, std::memory_order_release);
  wake_word.store(gen, std::memory_order_seq_cst);
  if (sleepers.load(std::memory_order_seq_cst) > 0) futex_wake_all(&wake_word);
  const long own_tasks = run_tasks(gen, 0);
  if (own_tasks == ntasks) {
    if (++idle_streak >= IDLE_JOBS) { idle_streak = 0; back_off(); }
  } else {
    idle_streak = 0;
  }
  if (job.done.load(std::memory_order_acquire) < ntasks) {
    auto start = std::chrono::steady_clock::now();
    while (job.done.load(std::memory_order_acquire) < ntasks) NB_PAUSE();
    long waited = (long)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
    long own = (long)std::chrono::duration_cast<std::chrono::nanoseconds>(start - t0).count();
    if (waited > STALL_NS + own / 2) {
      stalls++;
      back_off();
    } else {
      relax();
    }
  } else {
    relax();
  }
  busy.clear(std::memory_order_release);
}

bool pool_try_parallel() {
  init();
  if (nthreads == 1) return false;
  if (backing_off()) {
    jobs++;
    serial_jobs++;
    return false;
  }
  return true;
}

PoolStats pool_stats() { return PoolStats{jobs, stalls, serial_jobs}; }

} // namespace nabla
