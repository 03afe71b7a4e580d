#include <cblas.h>
#include <cpuid.h>
#include <stdint.h>

// OpenBLAS exports these but cblas.h does not always declare them.
char *openblas_get_corename(void);
char *openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);

// CPU feature bits the BLAS core choice needs (see NN/BLASRuntime.swift). Inline so that no C target is needed.
static inline uint32_t ns_cpuid_reg(uint32_t leaf, uint32_t subleaf, int reg) {
    uint32_t r[4] = {0, 0, 0, 0};
    if (!__get_cpuid_count(leaf, subleaf, &r[0], &r[1], &r[2], &r[3])) return 0;
    return r[reg];
}
// XCR0: which register states the OS saves (AVX needs bits 1-2, AVX-512 bits 5-7).
static inline uint64_t ns_xgetbv0(void) {
    uint32_t eax = 0, edx = 0;
    if (!(ns_cpuid_reg(1, 0, 2) & (1u << 27))) return 0; // OSXSAVE
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

// LAPACK's symmetric eigen-solver, which OpenBLAS carries (Fortran ABI: hidden string lengths last).
void dsyev_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
            double *work, const int *lwork, int *info, size_t jobzLength, size_t uploLength);
