# node-gyp build of the FUSE addon (libfuse3's low-level API, plain N-API in C: no C++ wrapper).
# libfuse counterpart: the example/passthrough_ll.c build line, `pkg-config fuse3 --cflags --libs`.
{
  "targets": [
    {
      "target_name": "dioread_fuse",
      "sources": ["dioread_fuse.c"],
      "cflags": ["<!@(pkg-config fuse3 --cflags)", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=gnu11"],
      "libraries": ["<!@(pkg-config fuse3 --libs)"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
