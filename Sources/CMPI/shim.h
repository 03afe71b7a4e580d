// OpenMPI's C API for the Cluster module. MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM and MPI_IN_PLACE are
// macros Swift cannot import, so the few calls the project makes are wrapped here, on the world
// communicator. Every function returns MPI's error code (MPI_SUCCESS = 0).
#include <mpi.h>
#include <stddef.h>

static inline int ns_mpi_init(void) { return MPI_Init(NULL, NULL); }
static inline int ns_mpi_initialized(void) { int flag = 0; MPI_Initialized(&flag); return flag; }
static inline int ns_mpi_finalize(void) { return MPI_Finalize(); }
static inline int ns_mpi_rank(void) { int r = 0; MPI_Comm_rank(MPI_COMM_WORLD, &r); return r; }
static inline int ns_mpi_size(void) { int s = 1; MPI_Comm_size(MPI_COMM_WORLD, &s); return s; }
static inline int ns_mpi_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static inline void ns_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

/// buffer[0 ..< count] ← Σ over ranks, in place.
static inline int ns_mpi_allreduce_sum_float(float *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static inline int ns_mpi_allreduce_sum_double(double *buffer, int count) {
    return MPI_Allreduce(MPI_IN_PLACE, buffer, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
/// received[r·count ..< (r+1)·count] ← rank r's sent[0 ..< count].
static inline int ns_mpi_allgather_float(const float *sent, int count, float *received) {
    return MPI_Allgather(sent, count, MPI_FLOAT, received, count, MPI_FLOAT, MPI_COMM_WORLD);
}
