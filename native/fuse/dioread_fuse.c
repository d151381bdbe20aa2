// dioread's FUSE addon: libfuse3's low-level API (fuse_lowlevel.h) bound to JavaScript with plain
// N-API. libfuse counterpart: example/passthrough_ll.c with fuse_session_loop_mt, except that the
// loop runs in each of dioread's worker threads: every worker calls serve(), which reads requests
// from the session's /dev/fuse descriptor itself (the kernel hands each request to one reader) and
// answers them by calling that worker's JavaScript handlers synchronously, on that worker's thread.
//
// Calling convention with the handlers (src/fuse/ops.ts): each handler returns a number, negative
// for -errno. Results that do not fit in a number go through two buffers given to serve(): `io`
// (read data out, write data in) and `out` (a Float64Array: stat fields, statfs fields).
// Nothing here keeps file state: file handles are numbers the JavaScript side makes meaningful in
// every thread.

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>
#include <node_api.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SESSIONS 16
#define ATTR_TIMEOUT_S 1.0
#define NAME_MAX_BYTES 1024

// out[] slots for a stat (handlers fill them; fill_stat reads them).
enum { A_INO, A_GEN, A_MODE, A_NLINK, A_SIZE, A_BLOCKS, A_ATIME, A_MTIME, A_CTIME, A_UID, A_GID, A_BLKSIZE, A_COUNT };
// out[] slots for statfs.
enum { F_BSIZE, F_BLOCKS, F_BFREE, F_BAVAIL, F_FILES, F_FFREE, F_NAMEMAX, F_COUNT };

enum {
  OP_LOOKUP, OP_GETATTR, OP_SETATTR, OP_OPEN, OP_CREATE, OP_READ, OP_WRITE, OP_RELEASE, OP_FSYNC,
  OP_OPENDIR, OP_READDIR, OP_STATFS, OP_UNLINK, OP_RENAME, OP_MKDIR, OP_RMDIR, OP_FALLOCATE, OP_COUNT
};
static const char *const OP_NAMES[OP_COUNT] = {
  "lookup", "getattr", "setattr", "open", "create", "read", "write", "release", "fsync",
  "opendir", "readdir", "statfs", "unlink", "rename", "mkdir", "rmdir", "fallocate",
};

struct session_slot {
  struct fuse_session *se;
  char *mountpoint;
};
// The sessions of this process, shared by every thread (the addon is loaded once per process).
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct session_slot g_sessions[MAX_SESSIONS];

// What a serving thread's ops need: set by serve() for its duration, on its own thread.
struct worker_ctx {
  napi_env env;
  napi_value handlers;
  napi_value fn[OP_COUNT];
  uint8_t *io;
  size_t io_bytes;
  double *out;
  size_t out_len;
};
static __thread struct worker_ctx *tl;

static void throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
}

// ---- calling the handlers ----

// Call handler `op` with argv; the number it returns, or -EIO when the call itself failed (a
// JavaScript exception is printed and cleared: the handlers are meant to catch their own).
static double call_num(struct worker_ctx *c, int op, size_t argc, napi_value *argv, napi_value *raw) {
  napi_value res;
  if (napi_call_function(c->env, c->handlers, c->fn[op], argc, argv, &res) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(c->env, &pending);
    if (pending) {
      napi_value exc;
      napi_get_and_clear_last_exception(c->env, &exc);
      fprintf(stderr, "dioread fuse: handler %s threw; answered EIO\n", OP_NAMES[op]);
    }
    return -EIO;
  }
  if (raw) *raw = res;
  napi_valuetype t;
  napi_typeof(c->env, res, &t);
  if (t != napi_number) return raw ? 0 : -EIO;
  double d;
  napi_get_value_double(c->env, res, &d);
  return d;
}

static napi_value num(struct worker_ctx *c, double d) {
  napi_value v;
  napi_create_double(c->env, d, &v);
  return v;
}

static napi_value str(struct worker_ctx *c, const char *s) {
  napi_value v;
  napi_create_string_utf8(c->env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

static struct timespec ms_to_ts(double ms) {
  struct timespec ts;
  double s = floor(ms / 1000.0);
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((ms - s * 1000.0) * 1e6);
  if (ts.tv_nsec < 0) ts.tv_nsec = 0;
  if (ts.tv_nsec > 999999999) ts.tv_nsec = 999999999;
  return ts;
}

static void fill_stat(const double *a, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = (ino_t)a[A_INO];
  st->st_mode = (mode_t)a[A_MODE];
  st->st_nlink = (nlink_t)a[A_NLINK];
  st->st_size = (off_t)a[A_SIZE];
  st->st_blocks = (blkcnt_t)a[A_BLOCKS];
  st->st_atim = ms_to_ts(a[A_ATIME]);
  st->st_mtim = ms_to_ts(a[A_MTIME]);
  st->st_ctim = ms_to_ts(a[A_CTIME]);
  st->st_uid = (uid_t)a[A_UID];
  st->st_gid = (gid_t)a[A_GID];
  st->st_blksize = (blksize_t)a[A_BLKSIZE];
}

static void fill_entry(const double *a, struct fuse_entry_param *e) {
  memset(e, 0, sizeof *e);
  e->ino = (fuse_ino_t)a[A_INO];
  e->generation = (uint64_t)a[A_GEN];
  fill_stat(a, &e->attr);
  e->attr_timeout = ATTR_TIMEOUT_S;
  e->entry_timeout = ATTR_TIMEOUT_S;
}

// Every op runs inside a handle scope of its own: serve() is one long native call.
#define BEGIN_OP(req)                                  \
  struct worker_ctx *c = tl;                           \
  if (c == NULL) {                                     \
    fuse_reply_err((req), EIO);                        \
    return;                                            \
  }                                                    \
  napi_handle_scope scope;                             \
  napi_open_handle_scope(c->env, &scope)
#define END_OP() napi_close_handle_scope(c->env, scope)

static void reply_entry_or_err(fuse_req_t req, struct worker_ctx *c, double r) {
  if (r < 0) {
    fuse_reply_err(req, (int)-r);
    return;
  }
  struct fuse_entry_param e;
  fill_entry(c->out, &e);
  fuse_reply_entry(req, &e);
}

static void reply_attr_or_err(fuse_req_t req, struct worker_ctx *c, double r) {
  if (r < 0) {
    fuse_reply_err(req, (int)-r);
    return;
  }
  struct stat st;
  fill_stat(c->out, &st);
  fuse_reply_attr(req, &st, ATTR_TIMEOUT_S);
}

// ---- the low-level operations ----

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  BEGIN_OP(req);
  napi_value argv[2] = {num(c, (double)parent), str(c, name)};
  reply_entry_or_err(req, c, call_num(c, OP_LOOKUP, 2, argv, NULL));
  END_OP();
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  fuse_reply_none(req); // no per-inode state here: inode numbers come from the engine
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  BEGIN_OP(req);
  napi_value argv[2] = {num(c, (double)ino), num(c, fi ? (double)fi->fh : -1)};
  reply_attr_or_err(req, c, call_num(c, OP_GETATTR, 2, argv, NULL));
  END_OP();
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
  BEGIN_OP(req);
  /* Times in ms since the epoch (the engine's unit); *_NOW bits tell JS to use its own clock. */
  double atime_ms = (double)attr->st_atim.tv_sec * 1000.0 + (double)(attr->st_atim.tv_nsec / 1000000);
  double mtime_ms = (double)attr->st_mtim.tv_sec * 1000.0 + (double)(attr->st_mtim.tv_nsec / 1000000);
  napi_value argv[7] = {num(c, (double)ino), num(c, fi ? (double)fi->fh : -1), num(c, to_set),
                        num(c, (double)attr->st_size), num(c, attr->st_mode), num(c, atime_ms), num(c, mtime_ms)};
  reply_attr_or_err(req, c, call_num(c, OP_SETATTR, 7, argv, NULL));
  END_OP();
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  BEGIN_OP(req);
  napi_value argv[2] = {num(c, (double)ino), num(c, fi->flags)};
  double r = call_num(c, OP_OPEN, 2, argv, NULL);
  if (r < 0) {
    fuse_reply_err(req, (int)-r);
  } else {
    fi->fh = (uint64_t)r;
    if (fuse_reply_open(req, fi) == -ENOENT) { // the opener was interrupted: release what we opened
      napi_value rel[1] = {num(c, r)};
      call_num(c, OP_RELEASE, 1, rel, NULL);
    }
  }
  END_OP();
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, struct fuse_file_info *fi) {
  BEGIN_OP(req);
  napi_value argv[4] = {num(c, (double)parent), str(c, name), num(c, mode), num(c, fi->flags)};
  double r = call_num(c, OP_CREATE, 4, argv, NULL);
  if (r < 0) {
    fuse_reply_err(req, (int)-r);
  } else {
    struct fuse_entry_param e;
    fill_entry(c->out, &e);
    fi->fh = (uint64_t)r;
    if (fuse_reply_create(req, &e, fi) == -ENOENT) {
      napi_value rel[1] = {num(c, r)};
      call_num(c, OP_RELEASE, 1, rel, NULL);
    }
  }
  END_OP();
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  BEGIN_OP(req);
  if (size > c->io_bytes) {
    fprintf(stderr, "dioread fuse: read of %zu bytes is over the %zu-byte buffer\n", size, c->io_bytes);
    fuse_reply_err(req, EIO);
  } else {
    napi_value argv[3] = {num(c, (double)fi->fh), num(c, (double)size), num(c, (double)off)};
    double r = call_num(c, OP_READ, 3, argv, NULL);
    if (r < 0) fuse_reply_err(req, (int)-r);
    else fuse_reply_buf(req, (const char *)c->io, (size_t)r);
  }
  END_OP();
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  BEGIN_OP(req);
  if (size > c->io_bytes) {
    fprintf(stderr, "dioread fuse: write of %zu bytes is over the %zu-byte buffer\n", size, c->io_bytes);
    fuse_reply_err(req, EIO);
  } else {
    memcpy(c->io, buf, size);
    napi_value argv[3] = {num(c, (double)fi->fh), num(c, (double)size), num(c, (double)off)};
    double r = call_num(c, OP_WRITE, 3, argv, NULL);
    if (r < 0) fuse_reply_err(req, (int)-r);
    else fuse_reply_write(req, (size_t)r);
  }
  END_OP();
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  fuse_reply_err(req, 0); // writes reach the engine synchronously: close() has nothing left to push
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  BEGIN_OP(req);
  napi_value argv[1] = {num(c, (double)fi->fh)};
  double r = call_num(c, OP_RELEASE, 1, argv, NULL);
  fuse_reply_err(req, r < 0 ? (int)-r : 0);
  END_OP();
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  BEGIN_OP(req);
  napi_value argv[2] = {num(c, (double)fi->fh), num(c, datasync)};
  double r = call_num(c, OP_FSYNC, 2, argv, NULL);
  fuse_reply_err(req, r < 0 ? (int)-r : 0);
  END_OP();
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  BEGIN_OP(req);
  napi_value argv[1] = {num(c, (double)ino)};
  double r = call_num(c, OP_OPENDIR, 1, argv, NULL);
  if (r < 0) {
    fuse_reply_err(req, (int)-r);
  } else {
    fi->fh = 0;
    fuse_reply_open(req, fi);
  }
  END_OP();
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  fuse_reply_err(req, 0);
}

// readdir: the handler returns [name, ino, isDir, index, ...] for the entries from index `off` on;
// an entry's offset (what the kernel sends back to continue) is its index + 1.
static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  BEGIN_OP(req);
  napi_value argv[2] = {num(c, (double)ino), num(c, (double)off)}, list;
  double r = call_num(c, OP_READDIR, 2, argv, &list);
  bool is_array = false;
  if (r >= 0) napi_is_array(c->env, list, &is_array);
  char *buf = is_array ? malloc(size) : NULL;
  if (r < 0 || !is_array || buf == NULL) {
    fuse_reply_err(req, r < 0 ? (int)-r : EIO);
    free(buf);
    END_OP();
    return;
  }
  uint32_t len;
  napi_get_array_length(c->env, list, &len);
  size_t used = 0;
  char name[NAME_MAX_BYTES];
  for (uint32_t i = 0; i + 4 <= len; i += 4) {
    napi_value vn, vi, vd, vx;
    napi_get_element(c->env, list, i, &vn);
    napi_get_element(c->env, list, i + 1, &vi);
    napi_get_element(c->env, list, i + 2, &vd);
    napi_get_element(c->env, list, i + 3, &vx);
    size_t nlen;
    double dino, ddir, dindex;
    napi_get_value_string_utf8(c->env, vn, name, sizeof name, &nlen);
    napi_get_value_double(c->env, vi, &dino);
    napi_get_value_double(c->env, vd, &ddir);
    napi_get_value_double(c->env, vx, &dindex);
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_ino = (ino_t)dino;
    st.st_mode = ddir != 0 ? S_IFDIR : S_IFREG;
    size_t need = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)dindex + 1);
    if (need > size - used) break;
    used += need;
  }
  fuse_reply_buf(req, buf, used);
  free(buf);
  END_OP();
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino) {
  BEGIN_OP(req);
  double r = call_num(c, OP_STATFS, 0, NULL, NULL);
  if (r < 0) {
    fuse_reply_err(req, (int)-r);
  } else {
    const double *f = c->out;
    struct statvfs sv;
    memset(&sv, 0, sizeof sv);
    sv.f_bsize = sv.f_frsize = (unsigned long)f[F_BSIZE];
    sv.f_blocks = (fsblkcnt_t)f[F_BLOCKS];
    sv.f_bfree = (fsblkcnt_t)f[F_BFREE];
    sv.f_bavail = (fsblkcnt_t)f[F_BAVAIL];
    sv.f_files = (fsfilcnt_t)f[F_FILES];
    sv.f_ffree = sv.f_favail = (fsfilcnt_t)f[F_FFREE];
    sv.f_namemax = (unsigned long)f[F_NAMEMAX];
    fuse_reply_statfs(req, &sv);
  }
  END_OP();
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) {
  BEGIN_OP(req);
  napi_value argv[2] = {num(c, (double)parent), str(c, name)};
  double r = call_num(c, OP_UNLINK, 2, argv, NULL);
  fuse_reply_err(req, r < 0 ? (int)-r : 0);
  END_OP();
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) {
  BEGIN_OP(req);
  napi_value argv[2] = {num(c, (double)parent), str(c, name)};
  double r = call_num(c, OP_RMDIR, 2, argv, NULL);
  fuse_reply_err(req, r < 0 ? (int)-r : 0);
  END_OP();
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  BEGIN_OP(req);
  napi_value argv[3] = {num(c, (double)parent), str(c, name), num(c, mode)};
  reply_entry_or_err(req, c, call_num(c, OP_MKDIR, 3, argv, NULL));
  END_OP();
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent, const char *newname, unsigned int flags) {
  BEGIN_OP(req);
  napi_value argv[5] = {num(c, (double)parent), str(c, name), num(c, (double)newparent), str(c, newname), num(c, flags)};
  double r = call_num(c, OP_RENAME, 5, argv, NULL);
  fuse_reply_err(req, r < 0 ? (int)-r : 0);
  END_OP();
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length, struct fuse_file_info *fi) {
  BEGIN_OP(req);
  napi_value argv[4] = {num(c, (double)fi->fh), num(c, mode), num(c, (double)offset), num(c, (double)length)};
  double r = call_num(c, OP_FALLOCATE, 4, argv, NULL);
  fuse_reply_err(req, r < 0 ? (int)-r : 0);
  END_OP();
}

// Hard links, symbolic links and device nodes: the image has none. link(2), symlink(2) and
// mknod(2) document EPERM for a filesystem that does not support creating them.
static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname) {
  fuse_reply_err(req, EPERM);
}
static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name) {
  fuse_reply_err(req, EPERM);
}
static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
  fuse_reply_err(req, EPERM);
}

static const struct fuse_lowlevel_ops OPS = {
  .lookup = op_lookup,
  .forget = op_forget,
  .forget_multi = op_forget_multi,
  .getattr = op_getattr,
  .setattr = op_setattr,
  .open = op_open,
  .create = op_create,
  .read = op_read,
  .write = op_write,
  .flush = op_flush,
  .release = op_release,
  .fsync = op_fsync,
  .opendir = op_opendir,
  .readdir = op_readdir,
  .releasedir = op_releasedir,
  .statfs = op_statfs,
  .unlink = op_unlink,
  .rmdir = op_rmdir,
  .mkdir = op_mkdir,
  .rename = op_rename,
  .fallocate = op_fallocate,
  .link = op_link,
  .symlink = op_symlink,
  .mknod = op_mknod,
};

// ---- the functions JavaScript calls ----

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    throw_error(env, "dioread fuse: missing arguments");
    return false;
  }
  return true;
}

static char *get_string(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s) napi_get_value_string_utf8(env, v, s, len + 1, &len);
  return s;
}

static struct session_slot *slot_of(napi_env env, napi_value v) {
  int32_t id;
  if (napi_get_value_int32(env, v, &id) != napi_ok || id < 0 || id >= MAX_SESSIONS || g_sessions[id].se == NULL) {
    throw_error(env, "dioread fuse: no such session");
    return NULL;
  }
  return &g_sessions[id];
}

// mount(mountpoint, options): a new session mounted on `mountpoint` with `-o options`; its id.
static napi_value js_mount(napi_env env, napi_callback_info info) {
  napi_value argv[2], result = NULL;
  if (!get_args(env, info, 2, argv)) return NULL;
  char *mp = get_string(env, argv[0]), *opts = get_string(env, argv[1]);
  char *fargv[] = {"dioread", "-o", opts, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
  struct fuse_session *se = NULL;
  if (mp == NULL || opts == NULL) {
    throw_error(env, "dioread fuse: mountpoint and options must be strings");
    goto out;
  }
  se = fuse_session_new(&args, &OPS, sizeof OPS, NULL);
  if (se == NULL) {
    throw_error(env, "dioread fuse: fuse_session_new failed (bad mount options; libfuse printed why)");
    goto out;
  }
  if (fuse_session_mount(se, mp) != 0) {
    fuse_session_destroy(se);
    throw_error(env, "dioread fuse: fuse_session_mount failed (libfuse printed why)");
    goto out;
  }
  pthread_mutex_lock(&g_lock);
  int id = -1;
  for (int i = 0; i < MAX_SESSIONS && id < 0; i++) if (g_sessions[i].se == NULL) id = i;
  if (id >= 0) {
    g_sessions[id].se = se;
    g_sessions[id].mountpoint = mp;
    mp = NULL;
  }
  pthread_mutex_unlock(&g_lock);
  if (id < 0) {
    fuse_session_unmount(se);
    fuse_session_destroy(se);
    throw_error(env, "dioread fuse: too many sessions in this process");
    goto out;
  }
  napi_create_int32(env, id, &result);
out:
  fuse_opt_free_args(&args);
  free(mp);
  free(opts);
  return result;
}

static void free_aligned(napi_env env, void *data, void *hint) {
  free(data);
}

// allocIo(bytes): an ArrayBuffer over page-aligned memory (O_DIRECT-friendly), freed by the GC.
static napi_value js_alloc_io(napi_env env, napi_callback_info info) {
  napi_value argv[1], ab;
  if (!get_args(env, info, 1, argv)) return NULL;
  int64_t bytes;
  napi_get_value_int64(env, argv[0], &bytes);
  void *mem = NULL;
  if (bytes <= 0 || posix_memalign(&mem, 4096, (size_t)bytes) != 0) {
    throw_error(env, "dioread fuse: cannot allocate the I/O buffer");
    return NULL;
  }
  if (napi_create_external_arraybuffer(env, mem, (size_t)bytes, free_aligned, NULL, &ab) != napi_ok) {
    free(mem);
    throw_error(env, "dioread fuse: cannot wrap the I/O buffer");
    return NULL;
  }
  return ab;
}

static bool bind_handlers(napi_env env, napi_value handlers, struct worker_ctx *c) {
  for (int i = 0; i < OP_COUNT; i++) {
    napi_valuetype t;
    if (napi_get_named_property(env, handlers, OP_NAMES[i], &c->fn[i]) != napi_ok ||
        napi_typeof(env, c->fn[i], &t) != napi_ok || t != napi_function) {
      char msg[128];
      snprintf(msg, sizeof msg, "dioread fuse: handler %s is not a function", OP_NAMES[i]);
      throw_error(env, msg);
      return false;
    }
  }
  return true;
}

// serve(id, handlers, io, out): answer requests on this thread until the filesystem is unmounted.
// Returns 0 after an unmount, or the negative errno that stopped reading /dev/fuse.
static napi_value js_serve(napi_env env, napi_callback_info info) {
  napi_value argv[4], result;
  if (!get_args(env, info, 4, argv)) return NULL;
  struct session_slot *s = slot_of(env, argv[0]);
  if (s == NULL) return NULL;
  struct worker_ctx c = {.env = env, .handlers = argv[1]};
  if (!bind_handlers(env, argv[1], &c)) return NULL;
  void *io, *out;
  size_t out_len;
  napi_typedarray_type tt;
  napi_value ab;
  size_t off;
  if (napi_get_arraybuffer_info(env, argv[2], &io, &c.io_bytes) != napi_ok ||
      napi_get_typedarray_info(env, argv[3], &tt, &out_len, &out, &ab, &off) != napi_ok || tt != napi_float64_array ||
      out_len < A_COUNT) {
    throw_error(env, "dioread fuse: serve(id, handlers, io: ArrayBuffer, out: Float64Array of 12+)");
    return NULL;
  }
  c.io = io;
  c.out = out;
  c.out_len = out_len;
  struct fuse_session *se = s->se;
  struct fuse_buf fbuf = {.mem = NULL};
  int res = 0;
  tl = &c;
  while (!fuse_session_exited(se)) {
    res = fuse_session_receive_buf(se, &fbuf);
    if (res == -EINTR) continue;
    if (res <= 0) break;
    fuse_session_process_buf(se, &fbuf);
  }
  tl = NULL;
  free(fbuf.mem);
  napi_create_int32(env, res < 0 ? res : 0, &result);
  return result;
}

// detach(id): lazy unmount as root (umount2 MNT_DETACH), which wakes every serve() with ENODEV
// once the last user of the mount is gone. Returns 0, or the errno (EPERM when not root: the
// caller runs `fusermount3 -u -z` instead). The session's descriptor stays open: threads may
// still be answering on it.
static napi_value js_detach(napi_env env, napi_callback_info info) {
  napi_value argv[1], result;
  if (!get_args(env, info, 1, argv)) return NULL;
  struct session_slot *s = slot_of(env, argv[0]);
  if (s == NULL) return NULL;
  int err = 0;
  if (geteuid() != 0) err = EPERM;
  else if (umount2(s->mountpoint, MNT_DETACH) != 0) err = errno;
  napi_create_int32(env, err, &result);
  return result;
}

// destroy(id): after every serve() returned: close the descriptor and free the session.
static napi_value js_destroy(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!get_args(env, info, 1, argv)) return NULL;
  struct session_slot *s = slot_of(env, argv[0]);
  if (s == NULL) return NULL;
  pthread_mutex_lock(&g_lock);
  struct fuse_session *se = s->se;
  s->se = NULL;
  pthread_mutex_unlock(&g_lock);
  fuse_session_unmount(se);
  fuse_session_destroy(se);
  free(s->mountpoint);
  s->mountpoint = NULL;
  return NULL;
}

static napi_value js_version(napi_env env, napi_callback_info info) {
  napi_value v;
  napi_create_string_utf8(env, fuse_pkgversion(), NAPI_AUTO_LENGTH, &v);
  return v;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"mount", NULL, js_mount, NULL, NULL, NULL, napi_default, NULL},
    {"allocIo", NULL, js_alloc_io, NULL, NULL, NULL, napi_default, NULL},
    {"serve", NULL, js_serve, NULL, NULL, NULL, napi_default, NULL},
    {"detach", NULL, js_detach, NULL, NULL, NULL, napi_default, NULL},
    {"destroy", NULL, js_destroy, NULL, NULL, NULL, napi_default, NULL},
    {"libfuseVersion", NULL, js_version, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
