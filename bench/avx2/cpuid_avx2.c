// LD_AUDIT shim that makes this process see an AVX2-only x86 CPU (no AVX-512, AVX-VNNI, AMX),
// so that every library that dispatches on CPUID (ONNX Runtime's MLAS, oneDNN, libxsmm, Highway,
// V8) runs the code it runs on such a CPU. Linux CPUID faulting (arch_prctl ARCH_SET_CPUID,
// /proc/cpuinfo flag cpuid_fault) turns every CPUID instruction into SIGSEGV; the handler executes
// the real CPUID with faulting briefly off, clears the feature bits, and steps over the
// instruction. What the hardware does is unchanged: only what the code chooses to run.
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <link.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

static int set_cpuid(int on) { return (int)syscall(SYS_arch_prctl, ARCH_SET_CPUID, (unsigned long)on); }

static void real_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

// The process's own SIGSEGV action (Node.js and V8 install one): its sigaction() and signal()
// calls are redirected here (la_symbind64), so that ours stays installed and passes real faults on.
static struct sigaction chained;
static int (*real_sigaction)(int, const struct sigaction*, struct sigaction*);

static int chained_sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  if (sig != SIGSEGV) return real_sigaction(sig, act, old);
  if (old) *old = chained;
  if (act) chained = *act;
  return 0;
}

static sighandler_t (*real_signal)(int, sighandler_t);

static sighandler_t chained_signal(int sig, sighandler_t handler) {
  if (sig != SIGSEGV) return real_signal(sig, handler);
  const sighandler_t old = (chained.sa_flags & SA_SIGINFO) ? (sighandler_t)chained.sa_sigaction : chained.sa_handler;
  memset(&chained, 0, sizeof chained);
  chained.sa_handler = handler;
  return old;
}

static void on_segv(int sig, siginfo_t* info, void* ctx) {
  ucontext_t* uc = (ucontext_t*)ctx;
  greg_t* g = uc->uc_mcontext.gregs;
  const uint8_t* ip = (const uint8_t*)g[REG_RIP];
  if (ip[0] != 0x0f || ip[1] != 0xa2) {   // not CPUID: the process's own handler, or die as without the shim
    if (chained.sa_flags & SA_SIGINFO) {
      chained.sa_sigaction(sig, info, ctx);
    } else if (chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN) {
      chained.sa_handler(sig);
    } else {
      signal(sig, SIG_DFL);   // the fault repeats on return, now fatal
    }
    return;
  }
  const uint32_t leaf = (uint32_t)g[REG_RAX], sub = (uint32_t)g[REG_RCX];
  uint32_t r[4];
  set_cpuid(1);
  real_cpuid(leaf, sub, r);
  set_cpuid(0);
  if (leaf == 7 && sub == 0) {
    // EBX: AVX512F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31
    r[1] &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31));
    // ECX: VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14
    r[2] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
    // EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, AMX-BF16 22, AVX512-FP16 23, AMX-TILE 24, AMX-INT8 25
    r[3] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25));
  } else if (leaf == 7 && sub == 1) {
    r[0] &= ~((1u << 4) | (1u << 5));   // EAX: AVX-VNNI 4, AVX512-BF16 5
  }
  g[REG_RAX] = r[0];
  g[REG_RBX] = r[1];
  g[REG_RCX] = r[2];
  g[REG_RDX] = r[3];
  g[REG_RIP] += 2;
}

// Installed from la_version: loaded with LD_AUDIT, this runs before any library's initializers
// (oneDNN and MLAS read CPUID in theirs), which an LD_PRELOAD constructor would not.
static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, NULL) != 0 || set_cpuid(0) != 0) {
    fprintf(stderr, "cpuid_avx2: this kernel or CPU cannot fault on CPUID (no cpuid_fault); exiting\n");
    _exit(3);
  }
}

unsigned int la_version(unsigned int version) {
  install();
  return version < LAV_CURRENT ? version : LAV_CURRENT;
}

unsigned int la_objopen(struct link_map* map, Lmid_t lmid, uintptr_t* cookie) {
  (void)map;
  (void)lmid;
  (void)cookie;
  return LA_FLG_BINDTO | LA_FLG_BINDFROM;   // see every symbol binding (for sigaction)
}

uintptr_t la_symbind64(Elf64_Sym* sym, unsigned int ndx, uintptr_t* refcook, uintptr_t* defcook,
                       unsigned int* flags, const char* name) {
  (void)ndx;
  (void)refcook;
  (void)defcook;
  (void)flags;
  if (strcmp(name, "sigaction") == 0 || strcmp(name, "__sigaction") == 0) {
    real_sigaction = (int (*)(int, const struct sigaction*, struct sigaction*))sym->st_value;
    return (uintptr_t)chained_sigaction;
  }
  if (strcmp(name, "signal") == 0 || strcmp(name, "bsd_signal") == 0 || strcmp(name, "sysv_signal") == 0) {
    real_signal = (sighandler_t (*)(int, sighandler_t))sym->st_value;
    return (uintptr_t)chained_signal;
  }
  return sym->st_value;
}
