# A chat or webhook for the alert tests, on loopback: MODE ok answers 200,
# hang never answers; every request (method, path, authorization, content
# type, JSON body) is appended to LOG as one JSON line; the port it got
# goes to PORTFILE.  Started by chatd() in lib.sh.
#
#	python3 chatd.py MODE PORTFILE LOG
import http.server, json, os, sys, threading, time
mode, portfile, log = sys.argv[1], sys.argv[2], sys.argv[3]
lock = threading.Lock()
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def handle_any(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        rec = {"method": self.command, "path": self.path,
               "auth": self.headers.get("Authorization", ""),
               "type": self.headers.get("Content-Type", ""),
               "body": json.loads(body)}
        with lock, open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        if mode == "hang":
            time.sleep(30)
            return
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    do_POST = handle_any
    do_PUT = handle_any
    def log_message(self, *a):
        pass
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(portfile + ".tmp", portfile)
s.serve_forever()
