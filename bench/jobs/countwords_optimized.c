// countwords' optimized.c (Ben Hoyt's countwords benchmark, the fastest single-threaded C
// program there) as a program of its own, for wordcount_bench's
// BM_Process_CountwordsOptimizedC: the rival of `tally wordcount -j 1` run the same way, from
// exec to exit. The code is optimized.c's: fread() from stdin into a 64 KiB buffer, lowercase
// and FNV-1a hash each byte in one pass, a fixed 65536-slot linear-probing table, qsort by
// count, printf "word count" lines. The one addition: an optional path argument that is
// reopened as stdin, so that the benchmark can start it without a shell.
//
// Its word rule splits at every byte <= ' ' (as a signed char, so bytes >= 0x80 too): on
// ASCII text without other control bytes, such as the KJV, it is the countwords rule. Its
// table never grows, so it is for inputs of fewer than 65536 distinct words only.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_SIZE 65536
#define HASH_LEN 65536  // must be a power of 2
#define FNV_OFFSET 14695981039346656037UL
#define FNV_PRIME 1099511628211UL

typedef struct {
  char* word;
  int word_len;
  int count;
} count;

static count table[HASH_LEN];
static int num_unique = 0;

static int cmp_count(const void* p1, const void* p2) {
  int c1 = ((const count*)p1)->count;
  int c2 = ((const count*)p2)->count;
  if (c1 == c2) return 0;
  if (c1 < c2) return 1;
  return -1;
}

static void increment(char* word, int word_len, uint64_t hash) {
  int index = (int)(hash & (uint64_t)(HASH_LEN - 1));
  while (1) {
    if (table[index].word == NULL) {
      void* word_copy = malloc((size_t)word_len);
      if (word_copy == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(1);
      }
      memmove(word_copy, word, (size_t)word_len);
      table[index].word = word_copy;
      table[index].word_len = word_len;
      table[index].count = 1;
      num_unique++;
      return;
    }
    if (table[index].word_len == word_len &&
        memcmp(table[index].word, word, (size_t)word_len) == 0) {
      table[index].count++;
      return;
    }
    index++;
    if (index >= HASH_LEN) index = 0;
  }
}

int main(int argc, char** argv) {
  if (argc > 1 && freopen(argv[1], "rb", stdin) == NULL) {
    perror(argv[1]);
    return 1;
  }
  char buf[BUF_SIZE];
  int offset = 0;
  while (1) {
    size_t num_read = fread(buf + offset, 1, (size_t)(BUF_SIZE - offset), stdin);
    if (num_read == 0) break;
    // Process up to the last whitespace byte; carry the partial word over.
    int space;
    for (space = offset + (int)num_read - 1; space >= 0; space--) {
      char c = buf[space];
      if (c <= ' ') break;
    }
    int num_process = (space >= 0) ? space : (int)num_read + offset;
    int i = 0;
    while (1) {
      for (; i < num_process; i++) {
        char c = buf[i];
        if (c > ' ') break;
      }
      uint64_t hash = FNV_OFFSET;
      int start = i;
      for (; i < num_process; i++) {
        char c = buf[i];
        if (c <= ' ') break;
        if (c >= 'A' && c <= 'Z') {
          c += ('a' - 'A');
          buf[i] = c;
        }
        hash *= FNV_PRIME;
        hash ^= (uint64_t)c;
      }
      if (i <= start) break;
      increment(buf + start, i - start, hash);
    }
    if (space >= 0) {
      offset = (offset + (int)num_read - 1) - space;
      memmove(buf, buf + space + 1, (size_t)offset);
    } else {
      offset = 0;
    }
  }
  count* ordered = calloc((size_t)num_unique, sizeof(count));
  for (int i = 0, i_unique = 0; i < HASH_LEN; i++) {
    if (table[i].word != NULL) ordered[i_unique++] = table[i];
  }
  qsort(ordered, (size_t)num_unique, sizeof(count), cmp_count);
  for (int i = 0; i < num_unique; i++) {
    printf("%.*s %d\n", ordered[i].word_len, ordered[i].word, ordered[i].count);
  }
  return 0;
}
