// `twotower serve`: the whole server on this machine — one context actor, N
// denoisers and the router, each a process of this binary — stopped together
// on SIGINT/SIGTERM, the router first so in-flight requests finish.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "actors/cli_args.hpp"
#include "actors/cluster_config.hpp"
#include "actors/commands.hpp"
#include "actors/tls.hpp"
#include "model/error.hpp"
#include "model/model.hpp"

extern char** environ;

namespace tt::cli {
namespace {

constexpr const char* kServeHelp =
    "usage: twotower serve [--port 8000] [--host 127.0.0.1] [--denoisers 1] [--model DIR]\n"
    "                      [--threads N] [--api-key KEY] [--timeout SECONDS] [--max-queue N]\n"
    "                      [--context-listen HOST:PORT] [--metrics-port P] [--device N[,M]]\n"
    "                      [--transport auto|shm|inline|cuda-ipc|nccl] [--no-router] [TLS options]\n"
    "  Starts a context actor, N denoisers and the router (OpenAI-compatible API on HOST:PORT) as\n"
    "  processes of this binary; Ctrl-C / SIGTERM drains in-flight requests and stops them all.\n"
    "  A denoiser that exits is started again (after 1 s, doubling up to 30 s while it keeps\n"
    "  failing; the context re-sends its blocks meanwhile). If the context actor or the router\n"
    "  exits, serve stops the others and exits with status 1 (so that systemd, Kubernetes or\n"
    "  Slurm restarts the whole set).\n"
    "  --context-listen   where the context actor listens (default 127.0.0.1:0, a free port);\n"
    "                     0.0.0.0:7000 lets routers on other nodes use it\n"
    "  --no-router        a cell: the context actor and its denoisers only, for routers elsewhere\n"
    "                     (prints 'listening on HOST:PORT' of the context actor)\n"
    "  --metrics-port P   /metrics of the context actor on P, of denoiser i on P+1+i (host: the\n"
    "                     context's listen host)\n"
    "  --device N[,M]     CUDA: the context tower on GPU N, the denoisers on GPU M (default N)\n";

using Clock = std::chrono::steady_clock;

struct Proc {
  std::string name;
  pid_t pid = -1;
  int out = -1;  // read end of its stdout (context, router), -1 when inherited
  std::vector<std::string> args;  // to start it again (denoisers)
  Clock::time_point started = Clock::now();
};

Proc spawn_child(const std::string& name, std::vector<std::string> args, bool capture) {
  Proc p;
  p.name = name;
  p.args = args;
  const std::string self = "/proc/self/exe";
  args.insert(args.begin(), "twotower");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2] = {-1, -1};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (capture) {
    if (pipe(fds) != 0) throw Error("serve: pipe: cannot create");
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
  }
  // The children get default signal handling even though this thread blocks SIGINT/SIGTERM.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  // Own process group: Ctrl-C reaches only `serve`, which stops the router first (drain).
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  const int rc = posix_spawn(&p.pid, self.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (capture) close(fds[1]);
  if (rc != 0) throw Error("serve: cannot start the " + name + " process");
  std::fprintf(stderr, "twotower serve: started %s pid %d\n", name.c_str(), static_cast<int>(p.pid));
  p.out = capture ? fds[0] : -1;
  return p;
}

// The "listening on HOST:PORT" line a child prints first; then its stdout is forwarded.
std::string address_of(Proc& p, std::chrono::seconds limit) {
  std::string line;
  const auto until = std::chrono::steady_clock::now() + limit;
  while (line.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    pollfd pfd{p.out, POLLIN, 0};
    if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
      throw Error("serve: the " + p.name + " process did not start listening within " +
                  std::to_string(limit.count()) + " s");
    char c;
    if (read(p.out, &c, 1) != 1) throw Error("serve: the " + p.name + " process exited during start-up");
    line += c;
  }
  const auto at = line.find("listening on ");
  if (at == std::string::npos) throw Error("serve: unexpected first line from the " + p.name + ": " + line);
  std::thread([fd = p.out] {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, static_cast<size_t>(n), stdout);
  }).detach();
  return line.substr(at + 13, line.find('\n') - at - 13);
}

bool exited(Proc& p) {
  if (p.pid <= 0) return true;
  int st = 0;
  if (waitpid(p.pid, &st, WNOHANG) == p.pid) {
    p.pid = -1;
    return true;
  }
  return false;
}

void stop(std::vector<Proc>& procs, std::chrono::seconds grace) {
  for (auto& p : procs)
    if (p.pid > 0) kill(p.pid, SIGTERM);
  const auto until = std::chrono::steady_clock::now() + grace;
  for (auto& p : procs) {
    while (!exited(p) && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (p.pid > 0) {
      kill(p.pid, SIGKILL);
      waitpid(p.pid, nullptr, 0);
      p.pid = -1;
    }
  }
}

// A denoiser's restart schedule: 1 s after it exits, doubling up to 30 s while it keeps
// failing within a minute of its start.
struct Restart {
  bool pending = false;
  Clock::time_point at;
  std::chrono::seconds backoff{1};
};

// Starts a denoiser that exited again when its time comes (its blocks are re-sent by the
// context meanwhile, as for any dead denoiser).
void restart_denoiser(Proc& p, Restart& r) {
  if (!r.pending) {
    if (!exited(p)) return;
    if (Clock::now() - p.started > std::chrono::minutes(1)) r.backoff = std::chrono::seconds(1);
    r.pending = true;
    r.at = Clock::now() + r.backoff;
    std::fprintf(stderr, "twotower serve: the denoiser process exited; starting it again in %lld s\n",
                 static_cast<long long>(r.backoff.count()));
    r.backoff = std::min(r.backoff * 2, std::chrono::seconds(30));
    return;
  }
  if (Clock::now() < r.at) return;
  r.pending = false;
  try {
    p = spawn_child(p.name, p.args, false);
  } catch (const Error& e) {
    std::fprintf(stderr, "twotower serve: %s\n", e.what());
    p.pid = -1, p.started = Clock::now();  // counts as a failure: tried again after the backoff
  }
}

// "0.0.0.0:7000" -> "127.0.0.1:7000": where processes of this machine reach a wildcard listener.
std::string local_address(const std::string& where) {
  const auto [host, port] = actors::parse_host_port(where, "context-listen");
  const bool any = host == "0.0.0.0" || host == "::" || host.empty();
  return (any ? std::string("127.0.0.1") : host) + ":" + std::to_string(port);
}

}  // namespace

int run_serve(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a == "--help" || a == "-h") return std::fputs(kServeHelp, stdout), 0;
  std::set<std::string> options{"port",   "host",   "denoisers",      "model",        "threads",  "api-key",
                                "timeout", "max-queue", "context-listen", "metrics-port", "device", "transport"};
  options.insert(actors::kTlsOptions.begin(), actors::kTlsOptions.end());
  Args a(argv, options, {"no-router"});
  const auto port = a.integer("port", 8000, 0, 65535);
  const std::string host = a.str("host", "127.0.0.1");
  const auto denoisers = a.integer("denoisers", 1, 1, 64);
  const std::string model = a.str("model", default_model_dir());
  const std::string context_listen = a.str("context-listen", "127.0.0.1:0");
  const auto [listen_host, listen_port] = actors::parse_host_port(context_listen, "context-listen");
  const bool router = !a.flag("no-router");
  std::vector<std::string> common{"--model", model}, tls;
  if (a.has("threads")) common.insert(common.end(), {"--threads", *a.str("threads")});
  for (const auto& opt : actors::kTlsOptions)
    if (a.has(opt)) tls.insert(tls.end(), {"--" + opt, *a.str(opt)});
  std::string context_device, denoiser_device;
  if (a.has("device")) {
    const std::string d = *a.str("device");
    const auto comma = d.find(',');
    context_device = d.substr(0, comma);
    denoiser_device = comma == std::string::npos ? context_device : d.substr(comma + 1);
    if (context_device.empty() || denoiser_device.empty()) throw Error("--device: expected N or N,M, got '" + d + "'");
  }
  int64_t metrics_port = -1;
  if (a.has("metrics-port")) metrics_port = a.integer("metrics-port", 0, 1, 65535 - denoisers - 1);
  auto metrics_at = [&](int64_t offset) { return listen_host + ":" + std::to_string(metrics_port + offset); };
  auto with = [](std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };

  actors::block_stop_signals();

  std::vector<Proc> workers;  // context and denoisers, stopped after the router
  std::vector<Proc> front;    // the router
  try {
    auto args = with(with({"context", "--listen", context_listen}, common), tls);
    if (!context_device.empty()) args = with(args, {"--device", context_device});
    if (a.has("transport")) args = with(args, {"--transport", *a.str("transport")});
    if (metrics_port > 0) args = with(args, {"--metrics", metrics_at(0)});
    workers.push_back(spawn_child("context", args, true));
    const std::string listening = address_of(workers.back(), std::chrono::seconds(300));
    const std::string context = local_address(listening);
    for (int i = 0; i < denoisers; ++i) {
      args = with(with({"denoiser", "--context", context}, common), tls);
      if (!denoiser_device.empty()) args = with(args, {"--device", denoiser_device});
      if (metrics_port > 0) args = with(args, {"--metrics", metrics_at(1 + i)});
      workers.push_back(spawn_child("denoiser", args, false));
    }
    if (!router) {
      std::printf("listening on %s\n", listening.c_str());
      std::fprintf(stderr, "twotower serve: cell of 1 context actor at %s and %lld denoiser(s), no router\n",
                   listening.c_str(), static_cast<long long>(denoisers));
      std::fflush(stdout);
    } else {
      args = with({"router", "--listen", host + ":" + std::to_string(port), "--context", context, "--model", model},
                  tls);
      for (const char* opt : {"api-key", "timeout", "max-queue"})
        if (a.has(opt)) args.insert(args.end(), {std::string("--") + opt, *a.str(opt)});
      front.push_back(spawn_child("router", args, true));
      const std::string where = address_of(front.back(), std::chrono::seconds(300));
      std::printf("listening on %s\n", where.c_str());
      std::fprintf(stderr, "twotower serve: OpenAI-compatible API at http://%s/v1 (1 context, %lld denoiser(s))\n",
                   where.c_str(), static_cast<long long>(denoisers));
      std::fflush(stdout);
    }
  } catch (const Error&) {
    stop(front, std::chrono::seconds(5));
    stop(workers, std::chrono::seconds(5));
    throw;
  }
  int status = 0;
  std::vector<Restart> restarts(workers.size());
  for (;;) {
    if (actors::stop_signal_within(std::chrono::milliseconds(200))) break;
    bool died = false;
    for (auto* group : {&front, &workers})
      for (size_t i = 0; i < group->size(); ++i) {
        Proc& p = (*group)[i];
        if (group == &workers && p.name == "denoiser") {
          restart_denoiser(p, restarts[i]);
        } else if (exited(p)) {
          std::fprintf(stderr, "twotower serve: the %s process exited; stopping\n", p.name.c_str());
          died = true;
        }
      }
    if (died) {
      status = 1;
      break;
    }
  }
  stop(front, std::chrono::seconds(75));  // the router drains its in-flight requests first
  stop(workers, std::chrono::seconds(10));
  return status;
}

}  // namespace tt::cli
