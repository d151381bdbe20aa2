{
  "targets": [
    {
      "target_name": "dioread_uring",
      "sources": ["uring.c"],
      "libraries": ["-luring"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
