// TCP request/response over new connections, for bench/services.ts.
//
//   tcp-rr serve PORT ID SECONDS
//     Accepts connections on 0.0.0.0:PORT; for each, reads the request and
//     answers "ID\n", then closes first (so TIME_WAIT stays on the server and
//     the client's ports are never exhausted). Prints "ready" once listening
//     and "served N" when it ends (SIGTERM or after SECONDS).
//
//   tcp-rr connect COUNT ADDR:PORT [ADDR:PORT...]
//     COUNT times (targets in turn): socket, connect, send a small request,
//     read the reply to EOF, close. Prints one line per connection:
//     "<nanoseconds from socket() to close()> <reply>" or "ERR <errno name>".
//     Each connection is bounded by 2 s send/receive timeouts.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_stop(int sig) { (void)sig; stop = 1; }

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int serve(int port, const char *id, int seconds) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1024) < 0) {
    perror("bind/listen");
    return 1;
  }
  struct sigaction sa = {.sa_handler = on_stop};  // no SA_RESTART: accept() returns EINTR
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGALRM, &sa, NULL);
  alarm(seconds);
  printf("ready\n");
  fflush(stdout);
  char reply[64];
  int len = snprintf(reply, sizeof reply, "%s\n", id);
  long served = 0;
  while (!stop) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    struct timeval tv = {.tv_sec = 2};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256];
    if (recv(c, buf, sizeof buf, 0) > 0 && send(c, reply, len, MSG_NOSIGNAL) == len) served++;
    close(c);
  }
  printf("served %ld\n", served);
  return 0;
}

static int parse_target(const char *text, struct sockaddr_in *out) {
  char host[64];
  const char *colon = strrchr(text, ':');
  if (!colon || colon - text >= (long)sizeof host) return -1;
  memcpy(host, text, colon - text);
  host[colon - text] = 0;
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons(atoi(colon + 1));
  return inet_pton(AF_INET, host, &out->sin_addr) == 1 ? 0 : -1;
}

static int one_connection(const struct sockaddr_in *to, char *reply, size_t cap) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return errno;
  struct timeval tv = {.tv_sec = 2};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int err = 0;
  size_t got = 0;
  if (connect(s, (const struct sockaddr *)to, sizeof *to) < 0) {
    err = errno;
  } else if (send(s, "GET /\n", 6, MSG_NOSIGNAL) != 6) {
    err = errno ? errno : EIO;
  } else {
    for (;;) {
      ssize_t n = recv(s, reply + got, cap - 1 - got, 0);
      if (n == 0) break;
      if (n < 0) { err = errno; break; }
      got += n;
      if (got == cap - 1) break;
    }
  }
  close(s);
  reply[got] = 0;
  char *nl = strchr(reply, '\n');
  if (nl) *nl = 0;
  if (!err && got == 0) err = ECONNRESET;
  return err;
}

static int connect_many(long count, int ntargets, char **targets) {
  struct sockaddr_in to[16];
  if (ntargets > 16) ntargets = 16;
  for (int i = 0; i < ntargets; i++)
    if (parse_target(targets[i], &to[i]) < 0) {
      fprintf(stderr, "bad target %s (want A.B.C.D:PORT)\n", targets[i]);
      return 2;
    }
  static char out[1 << 16];
  setvbuf(stdout, out, _IOFBF, sizeof out);  // printing must not sit between connections
  for (long i = 0; i < count; i++) {
    char reply[64];
    long long t0 = now_ns();
    int err = one_connection(&to[i % ntargets], reply, sizeof reply);
    long long t1 = now_ns();
    if (err) printf("ERR %s\n", strerrorname_np(err) ? strerrorname_np(err) : "?");
    else printf("%lld %s\n", t1 - t0, reply);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]), argv[3], atoi(argv[4]));
  if (argc >= 4 && strcmp(argv[1], "connect") == 0) {
    long count = atol(argv[2]);
    if (count < 1 || count > 1000000) {
      fprintf(stderr, "COUNT must be 1..1000000\n");
      return 2;
    }
    return connect_many(count, argc - 3, argv + 3);
  }
  fprintf(stderr, "usage: tcp-rr serve PORT ID SECONDS | tcp-rr connect COUNT ADDR:PORT...\n");
  return 2;
}
