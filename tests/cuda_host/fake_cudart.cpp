// A fake CUDA runtime for pass_rows_check.cu (no GPU): device memory is host
// memory, copies run at once, kernels do nothing except fill<unsigned long long>
// (the bad-row flags), and a stream reports "not ready" two queries in three, so
// the uploads that overlap compute run too. Only what the check calls, with the
// launch entry points nvcc 13 emits.
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <set>

const void* fill_kernel();  // pass_rows_check.cu

namespace {
std::set<const void*> device_memory;
int queries = 0;
dim3 pushed_grid, pushed_block;
std::size_t pushed_shared = 0;
cudaStream_t pushed_stream = nullptr;

template <class Handle>
Handle new_handle() {
  return reinterpret_cast<Handle>(std::malloc(8));
}
}  // namespace

extern "C" {
cudaError_t cudaMalloc(void** p, size_t bytes) {
  *p = std::malloc(bytes > 0 ? bytes : 1);
  std::memset(*p, 0xAB, bytes);  // garbage, as on a device
  device_memory.insert(*p);
  return cudaSuccess;
}
cudaError_t cudaFree(void* p) {
  device_memory.erase(p);
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaHostAlloc(void** p, size_t bytes, unsigned) {
  *p = std::malloc(bytes);
  return cudaSuccess;
}
cudaError_t cudaFreeHost(void* p) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind, cudaStream_t) {
  std::memcpy(dst, src, bytes);
  return cudaSuccess;
}
cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  *s = new_handle<cudaStream_t>();
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
  std::free(s);
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaStreamQuery(cudaStream_t) { return ++queries % 3 != 0 ? cudaErrorNotReady : cudaSuccess; }
cudaError_t cudaStreamWaitEvent(cudaStream_t, cudaEvent_t, unsigned) { return cudaSuccess; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t* e, unsigned) {
  *e = new_handle<cudaEvent_t>();
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
  std::free(e);
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventSynchronize(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaGetLastError() { return cudaSuccess; }
const char* cudaGetErrorString(cudaError_t) { return "fake CUDA error"; }
cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* attributes, const void* p) {
  attributes->type = device_memory.count(p) > 0 ? cudaMemoryTypeDevice : cudaMemoryTypeUnregistered;
  attributes->device = 0;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  *free = *total = std::size_t{80} << 30;
  return cudaSuccess;
}
unsigned __cudaPushCallConfiguration(dim3 grid, dim3 block, size_t shared, struct CUstream_st* stream) {
  pushed_grid = grid;
  pushed_block = block;
  pushed_shared = shared;
  pushed_stream = stream;
  return 0;
}
cudaError_t __cudaPopCallConfiguration(dim3* grid, dim3* block, size_t* shared, void* stream) {
  *grid = pushed_grid;
  *block = pushed_block;
  *shared = pushed_shared;
  *static_cast<cudaStream_t*>(stream) = pushed_stream;
  return cudaSuccess;
}
cudaError_t __cudaGetKernel(cudaKernel_t* kernel, const void* host_stub) {
  *kernel = reinterpret_cast<cudaKernel_t>(const_cast<void*>(host_stub));
  return cudaSuccess;
}
cudaError_t __cudaLaunchKernel(cudaKernel_t kernel, dim3, dim3, void** args, size_t, cudaStream_t) {
  if (reinterpret_cast<const void*>(kernel) == fill_kernel()) {  // fill(x, count, value)
    unsigned long long* x = *static_cast<unsigned long long**>(args[0]);
    const std::int64_t count = *static_cast<std::int64_t*>(args[1]);
    const unsigned long long value = *static_cast<unsigned long long*>(args[2]);
    for (std::int64_t i = 0; i < count; ++i) x[i] = value;
  }
  return cudaSuccess;
}
void** __cudaRegisterFatBinary(void*) {
  static void* handle = nullptr;
  return &handle;
}
void __cudaRegisterFatBinaryEnd(void**) {}
void __cudaUnregisterFatBinary(void**) {}
void __cudaRegisterFunction(void**, const char*, char*, const char*, int, uint3*, uint3*, dim3*, dim3*, int*) {}
}
