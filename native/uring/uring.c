/*
 * dioread's optional io_uring addon: one ring per engine image, reads into aligned memory the
 * engine owns, submitted in batches and reaped in batches from the event loop (an eventfd the
 * ring signals, watched by a uv_poll handle). The engine (src/aio-uring.ts) decides what to read
 * and checks it afterwards; this file only moves bytes. Built with node-gyp against liburing
 * (Debian: liburing-dev); when it is missing, the engine uses its other routes (src/aio.ts).
 * kernel/fio counterpart: fio's ioengine=io_uring (engines/io_uring.c), without SQPOLL.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <uv.h>

#define ALIGN_BYTES 4096

typedef struct {
  struct io_uring ring;
  int fd;
  int efd;
  unsigned depth;
  size_t slotBytes;
  uint8_t *mem;   /* depth * slotBytes, ALIGN_BYTES-aligned; freed with its ArrayBuffer */
  int32_t *comp;  /* completions of one wake-up: (slot, res) pairs, depth pairs at most */
  uv_poll_t poll;
  napi_env env;
  napi_ref cb;    /* onComplete(n): n pairs in comp */
  napi_async_context actx;
  unsigned inflight;
  unsigned prepared;
  int open;
} Ring;

#define CHECK(call)                                                 \
  do {                                                              \
    if ((call) != napi_ok) {                                        \
      napi_throw_error(env, NULL, "dioread-uring: " #call " failed"); \
      return NULL;                                                  \
    }                                                               \
  } while (0)

static napi_value errnoValue(napi_env env, int err) {
  napi_value v;
  napi_create_int32(env, -err, &v);
  return v;
}

static void freeMem(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void freeRing(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Ring *r = (Ring *)data;
  if (!r->open) free(r);
  /* else: the engine forgot to close it; the handle is still registered with the loop: leak it. */
}

/* Reap every completion, then call onComplete(n) once, as a callback from the event loop. */
static void onReadable(uv_poll_t *h, int status, int events) {
  (void)events;
  Ring *r = (Ring *)h->data;
  uint64_t count;
  if (read(r->efd, &count, sizeof count) < 0 && errno != EAGAIN) status = -errno;
  unsigned n = 0;
  struct io_uring_cqe *cqe;
  while (n < r->depth && io_uring_peek_cqe(&r->ring, &cqe) == 0) {
    r->comp[2 * n] = (int32_t)cqe->user_data;
    r->comp[2 * n + 1] = cqe->res;
    io_uring_cqe_seen(&r->ring, cqe);
    n++;
  }
  r->inflight -= n;
  if (r->inflight == 0) uv_unref((uv_handle_t *)&r->poll);
  if (n == 0 && status >= 0) return;
  napi_env env = r->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value cb, recv, arg, result;
  napi_get_reference_value(env, r->cb, &cb);
  napi_get_global(env, &recv); /* napi_make_callback wants an object for `this` */
  napi_create_int32(env, n > 0 ? (int32_t)n : status, &arg); /* a poll error only when nothing completed */
  napi_make_callback(env, r->actx, recv, cb, 1, &arg, &result);
  napi_close_handle_scope(env, scope);
}

/* open(path, direct, depth, slotBytes, onComplete) -> [ring, mem ArrayBuffer, comp ArrayBuffer] */
static napi_value Open(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  size_t len;
  bool direct;
  uint32_t depth, slotBytes;
  CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len));
  CHECK(napi_get_value_bool(env, argv[1], &direct));
  CHECK(napi_get_value_uint32(env, argv[2], &depth));
  CHECK(napi_get_value_uint32(env, argv[3], &slotBytes));
  if (depth == 0 || depth > 4096 || slotBytes == 0 || slotBytes % ALIGN_BYTES != 0) {
    napi_throw_range_error(env, NULL, "dioread-uring: depth must be 1..4096 and slotBytes a multiple of 4096");
    return NULL;
  }
  Ring *r = calloc(1, sizeof *r);
  if (!r) return errnoValue(env, ENOMEM);
  r->depth = depth;
  r->slotBytes = slotBytes;
  r->fd = open(path, O_RDONLY | O_CLOEXEC | (direct ? O_DIRECT : 0));
  int err = r->fd < 0 ? errno : 0;
  if (!err) {
    r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->efd < 0) err = errno;
  }
  if (!err) err = -io_uring_queue_init(depth, &r->ring, 0);
  if (!err) err = -io_uring_register_eventfd(&r->ring, r->efd);
  if (!err && posix_memalign((void **)&r->mem, ALIGN_BYTES, (size_t)depth * slotBytes) != 0) err = ENOMEM;
  if (!err && !(r->comp = calloc(2 * depth, sizeof(int32_t)))) err = ENOMEM;
  uv_loop_t *loop;
  if (!err && napi_get_uv_event_loop(env, &loop) != napi_ok) err = EINVAL;
  if (!err && uv_poll_init(loop, &r->poll, r->efd) != 0) err = EINVAL;
  if (err) {
    /* Nothing reached the loop yet: undo by hand. */
    if (r->fd >= 0) close(r->fd);
    if (r->efd > 0) close(r->efd);
    if (r->ring.ring_fd > 0) io_uring_queue_exit(&r->ring);
    free(r->mem);
    free(r->comp);
    free(r);
    return errnoValue(env, err);
  }
  r->poll.data = r;
  r->env = env;
  r->open = 1;
  uv_poll_start(&r->poll, UV_READABLE, onReadable);
  uv_unref((uv_handle_t *)&r->poll);
  CHECK(napi_create_reference(env, argv[4], 1, &r->cb));
  napi_value name, out, ext, mem, comp;
  CHECK(napi_create_string_utf8(env, "dioread-uring", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &r->actx));
  CHECK(napi_create_external(env, r, freeRing, NULL, &ext));
  CHECK(napi_create_external_arraybuffer(env, r->mem, (size_t)depth * slotBytes, freeMem, NULL, &mem));
  CHECK(napi_create_external_arraybuffer(env, r->comp, 2 * depth * sizeof(int32_t), freeMem, NULL, &comp));
  CHECK(napi_create_array_with_length(env, 3, &out));
  CHECK(napi_set_element(env, out, 0, ext));
  CHECK(napi_set_element(env, out, 1, mem));
  CHECK(napi_set_element(env, out, 2, comp));
  return out;
}

static Ring *ringOf(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p || !((Ring *)p)->open) {
    napi_throw_error(env, NULL, "dioread-uring: not an open ring");
    return NULL;
  }
  return (Ring *)p;
}

/* prepare(ring, slot, positionBytes, lengthBytes) -> 0, or -EBUSY when the slot count is exhausted */
static napi_value Prepare(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Ring *r = ringOf(env, argv[0]);
  if (!r) return NULL;
  uint32_t slot, length;
  int64_t position;
  CHECK(napi_get_value_uint32(env, argv[1], &slot));
  CHECK(napi_get_value_int64(env, argv[2], &position));
  CHECK(napi_get_value_uint32(env, argv[3], &length));
  if (slot >= r->depth || length > r->slotBytes || position < 0) {
    napi_throw_range_error(env, NULL, "dioread-uring: slot, length or position out of range");
    return NULL;
  }
  struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
  if (!sqe) {
    io_uring_submit(&r->ring);
    r->prepared = 0;
    sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) return errnoValue(env, EBUSY);
  }
  io_uring_prep_read(sqe, r->fd, r->mem + (size_t)slot * r->slotBytes, length, (uint64_t)position);
  io_uring_sqe_set_data64(sqe, slot);
  if (r->inflight++ == 0) uv_ref((uv_handle_t *)&r->poll);
  r->prepared++;
  return errnoValue(env, 0);
}

/* submit(ring) -> SQEs handed to the kernel, or -errno */
static napi_value Submit(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Ring *r = ringOf(env, argv[0]);
  if (!r) return NULL;
  if (r->prepared == 0) return errnoValue(env, 0);
  int n = io_uring_submit(&r->ring);
  if (n >= 0) r->prepared = 0;
  napi_value v;
  napi_create_int32(env, n, &v);
  return v;
}

static void onClosed(uv_handle_t *h) {
  Ring *r = (Ring *)h->data;
  io_uring_queue_exit(&r->ring);
  close(r->efd);
  close(r->fd);
  r->open = 0; /* the external's finalizer frees r */
}

/* close(ring): reads still in flight are abandoned (the caller waits for them first). */
static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Ring *r = ringOf(env, argv[0]);
  if (!r) return NULL;
  uv_poll_stop(&r->poll);
  napi_delete_reference(env, r->cb);
  napi_async_destroy(env, r->actx);
  uv_close((uv_handle_t *)&r->poll, onClosed);
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, Open, NULL, NULL, NULL, napi_default, NULL},
      {"prepare", NULL, Prepare, NULL, NULL, NULL, napi_default, NULL},
      {"submit", NULL, Submit, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, 4, props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
