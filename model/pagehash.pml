/*
 * pagehash.pml: the page cache hash's lock-free probe, as a Promela model for spin.
 * ext4/kernel counterpart: the lockless page-cache lookup of mm/filemap.c (find_get_page under
 * RCU, which re-checks what it found); in dioread, src/cache.ts findPage, findGetPageFast and
 * src/inode.ts uncachedRun, which walk a hash chain without mapping_lock and trust a miss only if
 * the hash's change counter H_HASH_SEQ was even and unchanged (hashWalkBegin / hashWalkValid),
 * against the chain changes under mapping_lock (grabPage's insert, claim's eviction, removePage),
 * each wrapped in hashChangeBegin / hashChangeEnd. docs/MODEL.md maps the labels to the source.
 *
 * Instance: NPG page frames, two hash buckets, keys 1..4 (a key is the page's (ino, index); its
 * bucket is key % 2). At the start bucket 1 holds 0 -> 1 (keys 1 and 3) and bucket 0 holds frame
 * 2 (key 2). The mutator makes NOPS chain changes one after another (mapping_lock serializes them:
 * one process is every thread that takes it): evict any hashed page (claim / removePage: unhook it
 * with one store, clear its identity, then its next link := -1) or insert an unhashed frame under
 * a key no page has (grabPage: identity, next := head, head := frame). Each store is its own step.
 * The walkers run concurrently: `probe1` is findGetPageFast's walk for key 3 (the page behind
 * page 0), `probe2` is uncachedRun's two walks (keys 3, then 1) under one counter sample.
 *
 * Property: a miss the walker trusts is the truth: no page that was hooked in its chain from the
 * walker's sample of H_HASH_SEQ to its check of it was missed (asserted in walk_end).
 *
 * Negative control (must make spin print a counterexample):
 *   UNSAFE_HASH_SEQ_BEFORE_ONLY  the code before bedf859 (issue 7 bug 5): hashInsert / hashRemove
 *                                bump H_HASH_SEQ once, before their chain store, and never after;
 *                                a walk is trusted when the counter is unchanged (no parity test)
 */

#ifndef NPG
#define NPG 3           /* page frames */
#endif
#ifndef NOPS
#define NOPS 3          /* chain changes by the mutator */
#endif
#define NKEY 4
#define NIL 255
#define BUCKET(k) ((k) % 2)

byte head[2] = NIL;     /* the bucket heads (hashBase + bucket) */
byte key[NPG] = NIL;    /* P_INO / P_INDEX: the page's identity, NIL when unhashed */
byte nxt[NPG] = NIL;    /* P_HASH_NEXT */
byte seq;               /* H_HASH_SEQ */

/* ghost state */
bit hooked[NPG];        /* the frame is linked into its bucket's chain (set by the head store of an
                           insert, cleared by the unhooking store of a removal) */
bit stayed[2 * NKEY + 2];   /* per walker slot and key: the key's page has stayed hooked since
                               that walker sampled H_HASH_SEQ */

#define SLOT(w, k) ((w) * (NKEY + 1) + (k))

/* ================================================================ the chain changes (mapping_lock held) */

/* under mapping_lock, between changes: each bucket's chain is acyclic, holds exactly the hooked
   frames whose key hashes there, and no key twice */
inline chain_check() {
  atomic {
    for (cb : 0 .. 1) {
      cn = 0; cp = head[cb];
      do
      :: cp != NIL ->
         assert(cn < NPG && hooked[cp] && key[cp] != NIL && BUCKET(key[cp]) == cb);
         cn++; cp = nxt[cp]
      :: else -> break
      od;
      cm = 0;
      for (cq : 0 .. NPG - 1) { if :: hooked[cq] && BUCKET(key[cq]) == cb -> cm++ :: else fi };
      assert(cm == cn)
    };
    for (cq : 0 .. NPG - 1) {
      for (cp : 0 .. NPG - 1) { assert(cp == cq || key[cp] == NIL || key[cp] != key[cq]) }
    };
    cb = 0; cn = 0; cp = 0; cm = 0; cq = 0
  }
}

/* claim (allocFrame's eviction) and removePage of the hashed page p: unhook it (hashRemove: one
   store, the head or the predecessor's next link), clear its identity, clear its next link */
inline evict(p) {
#ifndef UNSAFE_HASH_SEQ_BEFORE_ONLY
  atomic { assert((seq & 1) == 0); seq++ };          /* hashChangeBegin: odd (it was even) */
#else
  seq++;                                             /* the old bump, first thing in hashRemove */
#endif
M_unhook:
  atomic {                                           /* hashRemove: the unhooking store */
    b = BUCKET(key[p]);
    if
    :: head[b] == p -> head[b] = nxt[p]
    :: else ->
       q = head[b];
       do :: nxt[q] != p -> q = nxt[q] :: else -> break od;
       nxt[q] = nxt[p]
    fi;
    hooked[p] = 0;
    for (w : 0 .. 1) { stayed[SLOT(w, key[p])] = 0 };   /* ghost: that key's page left its chain */
    b = 0; q = 0; w = 0
  };
  key[p] = NIL;                                      /* P_INO := -1, P_INDEX := -1 */
M_clear_next:
  nxt[p] = NIL;                                      /* P_HASH_NEXT := -1 */
#ifndef UNSAFE_HASH_SEQ_BEFORE_ONLY
  seq++;                                             /* hashChangeEnd: even again */
#endif
  chain_check()
}

/* grabPage's insert of the unhashed frame p under key k: identity, then hashInsert */
inline insert(p, k) {
#ifndef UNSAFE_HASH_SEQ_BEFORE_ONLY
  atomic { assert((seq & 1) == 0); seq++ };          /* hashChangeBegin */
#endif
  key[p] = k;                                        /* P_INO, P_INDEX, P_GENERATION */
#ifdef UNSAFE_HASH_SEQ_BEFORE_ONLY
  seq++;                                             /* the old bump, first thing in hashInsert */
#endif
  nxt[p] = head[BUCKET(k)];                          /* hashInsert: next := head */
M_hook:
  atomic { head[BUCKET(k)] = p; hooked[p] = 1 };     /* head := p */
#ifndef UNSAFE_HASH_SEQ_BEFORE_ONLY
  seq++;                                             /* hashChangeEnd */
#endif
  chain_check()
}

proctype mutator() {
  byte n, p, k, b, q, w, cb, cn, cp, cm, cq;
end_M:
  do
  :: n < NOPS ->
     if
     :: atomic { key[0] != NIL -> p = 0 }; evict(p)
     :: atomic { key[1] != NIL -> p = 1 }; evict(p)
     :: atomic { key[2] != NIL -> p = 2 }; evict(p)
     :: atomic {                                     /* an unhashed frame, a key no page has */
          (key[0] == NIL || key[1] == NIL || key[2] == NIL) ->
          if :: key[0] == NIL -> p = 0 :: key[1] == NIL -> p = 1 :: key[2] == NIL -> p = 2 fi;
          if
          :: key[0] != 1 && key[1] != 1 && key[2] != 1 -> k = 1
          :: key[0] != 2 && key[1] != 2 && key[2] != 2 -> k = 2
          :: key[0] != 3 && key[1] != 3 && key[2] != 3 -> k = 3
          :: key[0] != 4 && key[1] != 4 && key[2] != 4 -> k = 4
          fi
        };
     insert(p, k)
     fi;
     atomic { n++; p = 0; k = 0 }
  :: else -> break
  od
}

/* ================================================================ the lock-free walkers */

/* hashWalkBegin: sample the counter; ghost: which keys' pages are hooked now */
inline walk_begin(w) {
  atomic {
    s = seq;
    for (i : 1 .. NKEY) {
      stayed[SLOT(w, i)] = 0;
      for (j : 0 .. NPG - 1) { if :: hooked[j] && key[j] == i -> stayed[SLOT(w, i)] = 1 :: else fi }
    };
    i = 0; j = 0
  }
}

/* findPage(key t): walk the chain from its head; give up after NPG steps (a chain changed) */
inline find_page(t, res) {
  atomic { p = head[BUCKET(t)]; steps = 0 };         /* the head load */
  do
  :: p == NIL -> res = NIL; break
  :: p != NIL && key[p] == t -> res = p; break       /* P_INDEX, P_INO match: a hit (callers validate) */
  :: p != NIL && key[p] != t ->
     atomic {
       p = nxt[p]; steps++;                          /* P_HASH_NEXT */
       if :: steps > NPG -> p = NIL :: else fi       /* a chain changed under us: give up (a miss) */
     }
  od;
  p = 0; steps = 0
}

/* hashWalkValid (one step), and the property: a trusted miss missed no page that stayed hooked */
inline walk_end(w, t, res, t2, res2) {
  atomic {
#ifndef UNSAFE_HASH_SEQ_BEFORE_ONLY
    trusted = ((s & 1) == 0 && seq == s);
#else
    trusted = (seq == s);
#endif
    assert(!(trusted && res == NIL && stayed[SLOT(w, t)]));      /* a trusted miss is the truth */
    assert(!(trusted && res2 == NIL && stayed[SLOT(w, t2)]))
  }
}

/* findGetPageFast(key 3): one walk; a miss it does not trust goes to findGetPage (locked) */
proctype probe1() {
  byte s, p, steps, i, j, res, res2 = 1;
  bit trusted;
  walk_begin(0);
P1_walk:
  find_page(3, res);
  walk_end(0, 3, res, 1, res2)
}

/* uncachedRun: walks for keys 3 then 1 under one sample, stopping at the first hit; the misses
   count only if the counter is valid after the last walk */
proctype probe2() {
  byte s, p, steps, i, j, res, res2 = 1;
  bit trusted;
  walk_begin(1);
P2_walk:
  find_page(3, res);
  if :: res == NIL -> find_page(1, res2) :: else fi;
  walk_end(1, 3, res, 1, res2)
}

init {
  atomic {                                           /* the cache as the walkers find it */
    key[0] = 1; nxt[0] = 1; key[1] = 3; head[1] = 0; hooked[0] = 1; hooked[1] = 1;
    key[2] = 2; head[0] = 2; hooked[2] = 1;
    run mutator(); run probe1(); run probe2()
  }
}
