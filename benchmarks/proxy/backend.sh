# Sourced by run.sh and ab.sh: the backend both proxies call, a one-thread HAProxy answering 200 "ok" from memory
# (so that no proxy waits on it). Usage: ok_backend WORK PORT (starts it in the background; $! is its pid).
ok_backend() {
  cat > "$1/backend.cfg" <<CFG
global
  nbthread 1
defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend backend
  bind 127.0.0.1:$2
  http-request return status 200 content-type text/plain string "ok"
CFG
  haproxy -f "$1/backend.cfg" -db > "$1/backend.log" 2>&1 &
}
