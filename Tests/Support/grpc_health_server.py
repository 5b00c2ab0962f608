#!/usr/bin/python3
"""A gRPC server with the standard health service (grpc.health.v1.Health/Check), for the
probe tests: Debian's python3-grpcio, with the two messages encoded here by hand (Debian has
no grpcio-health-checking package).

    grpc_health_server.py PORT STATUS_FILE

Listens on 127.0.0.1:PORT (0: any free port) and prints the port it got. Each Check answers
with the status named in STATUS_FILE for the service "", or in STATUS_FILE.db for the service
"db" (SERVING when the file is missing; UNKNOWN, NOT_SERVING, SERVICE_UNKNOWN, or HANG to
never answer), and NOT_FOUND for any other service, as grpc's own health servicer does.
"""
import sys
import time
from concurrent import futures

import grpc

STATUSES = {"UNKNOWN": 0, "SERVING": 1, "NOT_SERVING": 2, "SERVICE_UNKNOWN": 3}


def service_of(request):
    """HealthCheckRequest's field 1 (a string); a string under 128 bytes has a 1-byte length."""
    if len(request) >= 2 and request[0] == 0x0A:
        return request[2 : 2 + request[1]].decode()
    return ""


def check(request, context):
    service = service_of(request)
    if service not in ("", "db"):
        context.abort(grpc.StatusCode.NOT_FOUND, "unknown service")
    try:
        with open(STATUS_FILE + ("." + service if service else "")) as f:
            status = f.read().strip()
    except FileNotFoundError:
        status = "SERVING"
    if status == "HANG":
        time.sleep(3600)
    value = STATUSES[status]
    # HealthCheckResponse: field 1, varint; proto3 leaves a zero out.
    return bytes([0x08, value]) if value else b""


port, STATUS_FILE = int(sys.argv[1]), sys.argv[2]
server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
server.add_generic_rpc_handlers(
    (grpc.method_handlers_generic_handler("grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(check)}),)
)
bound = server.add_insecure_port("127.0.0.1:%d" % port)
server.start()
print(bound, flush=True)
server.wait_for_termination()
