"""The real tools as test oracles, built by ``tests/realtools/build.sh``.

Tests that need one use ``needs("helmfile", ...)``: it skips with a one-line reason when the tool is
absent, unless ``COMPOSER_REQUIRE_REALTOOLS=1`` (set by CI), where a missing tool fails instead, so
CI can never pass by skipping its oracles.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

import pytest

TOOLS = Path(
    os.environ.get("COMPOSER_REALTOOLS")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fargate-composer" / "realtools"
)
BIN = TOOLS / "bin"
PLUGINS = TOOLS / "helm-plugins"
CHARTS = Path(__file__).parent / "realtools" / "charts"
REQUIRED = os.environ.get("COMPOSER_REQUIRE_REALTOOLS") == "1"


def find(name: str) -> str | None:
    """The built tool, else one on PATH (eksctl-validate, etcd and kube-apiserver only come built)."""
    built = BIN / name
    if built.is_file() and os.access(built, os.X_OK):
        return str(built)
    return shutil.which(name)


def missing(*names: str) -> list[str]:
    gone = [n for n in names if find(n) is None]
    if "helmfile" in names and not (PLUGINS / "diff" / "plugin.yaml").is_file() and not _user_has_diff():
        gone.append("helm-diff")
    return gone


def _user_has_diff() -> bool:
    helm = find("helm")
    if helm is None:
        return False
    done = subprocess.run([helm, "plugin", "list"], capture_output=True, text=True, check=False)
    return any(line.split()[:1] == ["diff"] for line in done.stdout.splitlines())


def needs(*names: str):
    """Decorate a test that uses these real tools (see the module docstring)."""
    gone = missing(*names)

    def decorate(test):
        if not gone:
            return test
        if not REQUIRED:
            return pytest.mark.skip(reason=f"real {', '.join(gone)} not built (run tests/realtools/build.sh)")(test)

        @functools.wraps(test)
        def fail(*args, **kwargs):
            pytest.fail(f"COMPOSER_REQUIRE_REALTOOLS=1, but real {', '.join(gone)} is missing from {BIN}")

        return fail

    return decorate


def tool_env(home: Path) -> dict[str, str]:
    """An environment for helm/helmfile: the built tools first on PATH, helm-diff as a plugin, and helm's
    own folders under ``home`` so no test reads or writes the user's helm configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELM_", "KUBECONFIG", "AWS_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    for kind in ("CACHE", "CONFIG", "DATA"):
        env[f"HELM_{kind}_HOME"] = str(home / f"helm-{kind.lower()}")
    if (PLUGINS / "diff").is_dir():
        env["HELM_PLUGINS"] = str(PLUGINS)
    env["HOME"] = str(home)
    return env


def run(
    argv: list[str], env: dict[str, str], cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run a real tool; the caller checks returncode and reads stdout/stderr."""
    tool = find(argv[0]) or argv[0]
    return subprocess.run(
        [tool, *argv[1:]], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout, check=False
    )


# ---------------------------------------------------------------- a real API server on 127.0.0.1


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    """etcd and kube-apiserver on 127.0.0.1 only, an admin token, and a kubeconfig for helm."""

    def __init__(self, home: Path, eks_tokens: bool = False):
        self.home = home
        self.token = os.urandom(16).hex()
        self.port = _free_port()
        self.kubeconfig = home / "kubeconfig"
        self.procs: list[subprocess.Popen] = []
        # as an EKS control plane: a serving certificate for 127.0.0.1 (its CA is what DescribeCluster
        # gives eksctl) and a token webhook that takes the tokens `aws eks get-token` makes (EKS checks them
        # with STS; here any k8s-aws-v1. token is the cluster's admin)
        self.eks_tokens = eks_tokens
        self.ca = b""
        self.webhook = None
        self._local = __import__("threading").local()  # (each thread's connection: request)

    def start(self) -> "ApiServer":
        h = self.home
        client, peer = _free_port(), _free_port()
        self._spawn(
            "etcd",
            [
                "--name",
                "test",
                "--data-dir",
                str(h / "etcd"),
                "--listen-client-urls",
                f"http://127.0.0.1:{client}",
                "--advertise-client-urls",
                f"http://127.0.0.1:{client}",
                "--listen-peer-urls",
                f"http://127.0.0.1:{peer}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{peer}",
                "--initial-cluster",
                f"test=http://127.0.0.1:{peer}",
            ],
        )
        subprocess.run(["openssl", "genrsa", "-out", str(h / "sa.key"), "2048"], check=True, capture_output=True)
        (h / "tokens.csv").write_text(f"{self.token},admin,admin,system:masters\n")
        (h / "tokens.csv").chmod(0o600)
        extra: list[str] = []
        if self.eks_tokens:
            cert, key = self_signed(h / "serving", "kube-apiserver", "subjectAltName=IP:127.0.0.1")
            self.ca = cert.read_bytes()
            webhook = self._token_webhook(h / "webhook")
            extra = ["--tls-cert-file", str(cert), "--tls-private-key-file", str(key)]
            extra += ["--authentication-token-webhook-config-file", str(webhook)]
        self._spawn(
            "kube-apiserver",
            [
                *extra,
                "--etcd-servers",
                f"http://127.0.0.1:{client}",
                "--bind-address",
                "127.0.0.1",
                "--advertise-address",
                "127.0.0.1",
                "--secure-port",
                str(self.port),
                "--cert-dir",
                str(h / "certs"),
                "--token-auth-file",
                str(h / "tokens.csv"),
                "--authorization-mode",
                "RBAC",
                "--service-account-issuer",
                "https://kubernetes.default.svc.cluster.local",
                "--service-account-key-file",
                str(h / "sa.key"),
                "--service-account-signing-key-file",
                str(h / "sa.key"),
                "--service-cluster-ip-range",
                "10.96.0.0/16",
                "--allow-privileged=true",
            ],
        )
        self.kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: test\n"
            f"clusters: "
            f"[{{name: test, cluster: {{server: 'https://127.0.0.1:{self.port}', insecure-skip-tls-verify: true}}}}]\n"
            f"users: [{{name: admin, user: {{token: '{self.token}'}}}}]\n"
            "contexts: [{name: test, context: {cluster: test, user: admin}}]\n"
        )
        self.kubeconfig.chmod(0o600)
        self._wait_ready()
        return self

    def _token_webhook(self, folder: Path) -> Path:
        """A TokenReview webhook on 127.0.0.1 (TLS): tokens of `aws eks get-token`'s form are the admin
        (system:masters), anything else is refused; the kubeconfig-shaped file the API server reads."""
        import http.server
        import json
        import ssl
        import threading

        cert, key = self_signed(folder, "token-webhook", "subjectAltName=IP:127.0.0.1")

        class Review(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                review = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                token = str((review.get("spec") or {}).get("token", ""))
                status = (
                    {"authenticated": True, "user": {"username": "eks-admin", "groups": ["system:masters"]}}
                    if token.startswith("k8s-aws-v1.")
                    else {"authenticated": False}
                )
                body = json.dumps({**review, "status": status}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Review)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.webhook = server
        config = folder / "webhook.kubeconfig"
        config.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: webhook\n"
            f"clusters: [{{name: webhook, cluster: {{server: 'https://127.0.0.1:{server.server_address[1]}', "
            f"certificate-authority: '{cert}'}}}}]\n"
            "users: [{name: apiserver, user: {}}]\n"
            "contexts: [{name: webhook, context: {cluster: webhook, user: apiserver}}]\n"
        )
        return config

    def start_controllers(self, *controllers: str, extra: tuple[str, ...] = ()) -> None:
        """The real kube-controller-manager against this server, running only ``controllers`` (no leader
        election, no serving port); stopped first when the server stops."""
        args = ["--kubeconfig", str(self.kubeconfig), "--leader-elect=false", "--secure-port=0", *extra]
        self._spawn("kube-controller-manager", [*args, "--controllers", ",".join(controllers)])

    def _spawn(self, name: str, args: list[str]) -> None:
        log = open(self.home / f"{name}.log", "wb")
        self.procs.append(
            subprocess.Popen([find(name) or name, *args], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        )

    def _wait_ready(self, seconds: float = 90) -> None:
        import time

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args[0]} exited: {self._logs()}")
            try:
                if self.get("/readyz") == "ok":
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"kube-apiserver not ready after {seconds}s: {self._logs()}")

    def _logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-2000:] for p in sorted(self.home.glob("*.log")))

    def get(self, path: str):
        """GET ``path`` as the admin: parsed JSON, or the text of a non-JSON answer."""
        return self.request("GET", path)

    def request(self, method: str, path: str, body: dict | None = None, content_type: str = "application/json"):
        """``method`` ``path`` as the admin: parsed JSON, or the text of a non-JSON answer; an error status
        raises urllib's HTTPError. Each thread keeps one TLS connection open (the simulated kubelets ask
        several times a second: a handshake and a CA store per request cost the suite a core)."""
        import http.client
        import io
        import json
        import ssl
        import urllib.error

        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": content_type}
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            fresh = conn is None
            if fresh:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # self-signed, 127.0.0.1 only
                conn = self._local.conn = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, context=context, timeout=10
                )
            try:
                conn.request(method, path, body=data, headers=headers)
                answer = conn.getresponse()
                text = answer.read().decode()
                break
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if fresh or attempt == 2:  # (a kept connection the server closed is retried once, afresh)
                    raise
        if answer.status >= 400:
            url = f"https://127.0.0.1:{self.port}{path}"
            raise urllib.error.HTTPError(url, answer.status, answer.reason, answer.headers, io.BytesIO(text.encode()))
        return json.loads(text) if text.startswith("{") else text

    def stop(self) -> None:
        import signal

        if self.webhook is not None:
            self.webhook.shutdown()
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


class Scheduler:
    """What kube-controller-manager, the scheduler and the kubelets would do for a Deployment (and a
    DaemonSet, on a cluster without Nodes), reduced to what helm's --wait reads: while running, every
    Deployment in ``namespaces`` whose pod template ``schedulable(namespace, template)`` accepts gets a
    ReplicaSet it controls, reported ready (so ``helm --wait`` returns); one that is not schedulable never
    becomes ready, as on EKS, where a pod no Fargate profile selects and no node accepts stays Pending and
    helm's wait times out. (tests/simeks.py runs the real controllers instead.)"""

    def __init__(self, server: ApiServer, namespaces: set[str], schedulable):
        import threading

        self.server, self.namespaces, self.schedulable = server, sorted(namespaces), schedulable
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Scheduler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        import urllib.error

        while not self._stop.wait(0.3):
            for namespace in self.namespaces:
                try:
                    self._reconcile(namespace)
                except (urllib.error.URLError, OSError):
                    pass  # the namespace does not exist yet, or the server is stopping

    def _reconcile(self, ns: str) -> None:
        apps = f"/apis/apps/v1/namespaces/{ns}"
        for ds in self.server.get(f"{apps}/daemonsets")["items"]:
            # what the DaemonSet controller reports on an API server without Nodes: nothing to run, observed
            # (helm's --wait reads observedGeneration first: helm v3.22.0 pkg/kube/ready.go daemonSetReady)
            if (ds.get("status") or {}).get("observedGeneration") != ds["metadata"]["generation"]:
                self.server.request(
                    "PATCH",
                    f"{apps}/daemonsets/{ds['metadata']['name']}/status",
                    {"status": {"observedGeneration": ds["metadata"]["generation"], "desiredNumberScheduled": 0}},
                    "application/merge-patch+json",
                )
        owned = {
            ref["uid"]: rs
            for rs in self.server.get(f"{apps}/replicasets")["items"]
            for ref in rs["metadata"].get("ownerReferences") or ()
            if ref.get("controller")
        }
        for dep in self.server.get(f"{apps}/deployments")["items"]:
            meta, spec = dep["metadata"], dep["spec"]
            if not self.schedulable(ns, spec["template"]):
                continue
            rs = owned.get(meta["uid"])
            if rs is None or rs["spec"]["template"] != spec["template"]:
                name = f"{meta['name']}-{meta['generation']}"
                if rs is not None:
                    self.server.request("DELETE", f"{apps}/replicasets/{rs['metadata']['name']}")
                rs = self.server.request(
                    "POST",
                    f"{apps}/replicasets",
                    {
                        "apiVersion": "apps/v1",
                        "kind": "ReplicaSet",
                        "metadata": {
                            "name": name,
                            "namespace": ns,
                            "labels": (spec["template"].get("metadata") or {}).get("labels") or {},
                            "ownerReferences": [
                                {
                                    "apiVersion": "apps/v1",
                                    "kind": "Deployment",
                                    "name": meta["name"],
                                    "uid": meta["uid"],
                                    "controller": True,
                                }
                            ],
                        },
                        "spec": {
                            "replicas": spec.get("replicas", 1),
                            "selector": spec["selector"],
                            "template": spec["template"],
                        },
                    },
                )
            replicas = spec.get("replicas", 1)
            patch = "application/merge-patch+json"
            self.server.request(
                "PATCH",
                f"{apps}/replicasets/{rs['metadata']['name']}/status",
                {
                    "status": {
                        "observedGeneration": rs["metadata"]["generation"],
                        "replicas": replicas,
                        "readyReplicas": replicas,
                        "availableReplicas": replicas,
                    }
                },
                patch,
            )
            self.server.request(
                "PATCH",
                f"{apps}/deployments/{meta['name']}/status",
                {
                    "status": {
                        "observedGeneration": meta["generation"],
                        "replicas": replicas,
                        "readyReplicas": replicas,
                        "updatedReplicas": replicas,
                        "availableReplicas": replicas,
                    }
                },
                patch,
            )


# ---------------------------------------------------------------- the EKS API for real eksctl: moto + a proxy


class MockEks:
    """moto's EKS (and STS) on 127.0.0.1 behind a small proxy that answers the calls moto lacks: the one
    every eksctl command makes first, DescribeClusterVersions (GET /cluster-versions), with the
    versions EKS offers, and the add-on reads ``eksctl get addon`` makes (ListAddons, DescribeAddon,
    DescribeAddonVersions, DescribeAddonConfiguration, with the VPC CNI as an add-on that needs IAM
    permissions; shapes from the EKS API reference) over the add-ons a test puts in
    ``addons`` ({cluster: {name: {"status": …, "configurationValues": …}}}), and the
    ``accessConfig`` that moto's DescribeCluster leaves out, from ``auth_modes`` ({cluster: mode}), the
    add-on writes (CreateAddon, UpdateAddon: the add-on then reads as ACTIVE with that configuration), and
    SSM GetParameter for the AWS public parameters moto lacks, from ``parameters`` ({name: value}; shape
    from the SSM API reference); everything else goes to moto, CreateStack with its template's
    ``Fn::GetAtt`` written in the list form moto reads (so eksctl's IAM role stacks deploy). ``env`` points
    real eksctl (and the real AWS CLI) at it."""

    VERSIONS = ("1.30", "1.31", "1.32", "1.33", "1.34")

    def __enter__(self) -> "MockEks":
        import http.server
        import logging
        import threading
        import urllib.error
        import urllib.request

        from moto.server import ThreadedMotoServer

        # (werkzeug logs every request at INFO; pytest's log capture formatted each of them: seconds a test)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        upstream = f"http://{host}:{port}"
        # moto keeps its state per process, across servers: each test starts from an empty AWS
        urllib.request.urlopen(urllib.request.Request(f"{upstream}/moto-api/reset", method="POST"), timeout=30).read()
        versions = self.VERSIONS
        # add-ons that call AWS APIs, with their service account and the managed policy EKS recommends (EKS
        # user guide, "IAM roles for Amazon EKS add-ons" and "Retrieve IAM information about an add-on")
        iam_addons = {"vpc-cni": ("aws-node", "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy")}
        self.addons: dict[str, dict[str, dict]] = {}
        addons = self.addons
        self.auth_modes: dict[str, str] = {}
        auth_modes = self.auth_modes
        self.parameters: dict[str, str] = {}
        parameters = self.parameters
        # {cluster: {"namespace/account": role ARN}}: EKS Pod Identity associations (moto has none)
        self.associations: dict[str, dict[str, str]] = {}
        associations = self.associations
        mock = self  # (kube: set by a test to an ApiServer(eks_tokens=True) that is the clusters' endpoint)

        def addon_write(path: str, data: bytes | None):
            """The answer to CreateAddon / UpdateAddon (shapes from the EKS API reference), kept in ``addons``
            as EKS would have them once done (ACTIVE, the configuration given); None when not one."""
            import json

            parts = path.partition("?")[0].strip("/").split("/")
            if parts[:1] != ["clusters"] or len(parts) < 3 or parts[2] != "addons":
                return None
            body = json.loads(data or b"{}")
            if len(parts) == 3:
                name = str(body.get("addonName", ""))
                addons.setdefault(parts[1], {})[name] = {
                    "status": "ACTIVE",
                    "configurationValues": body.get("configurationValues") or "",
                }
                arn = f"arn:aws:eks:us-east-1:123456789012:addon/{parts[1]}/{name}/x"
                created = {"addonName": name, "clusterName": parts[1], "status": "CREATING", "addonArn": arn}
                return {"addon": {**created, "addonVersion": body.get("addonVersion") or "v1.0.0-eksbuild.1"}}
            if len(parts) == 5 and parts[4] == "update":
                have = addons.get(parts[1], {}).get(parts[3])
                if have is not None and "configurationValues" in body:
                    have["configurationValues"] = body["configurationValues"] or ""
                return {
                    "update": {"id": "u-1", "status": "Successful", "type": "AddonUpdate", "params": [], "errors": []}
                }
            return None

        def association_answer(path: str):
            """(code, body) for ListPodIdentityAssociations / DescribePodIdentityAssociation (shapes from the
            EKS API reference; the association id is its index), or None when the path is not one."""
            parts = path.partition("?")[0].strip("/").split("/")
            if len(parts) not in (3, 4) or parts[0] != "clusters" or parts[2] != "pod-identity-associations":
                return None
            cluster = parts[1]
            found = sorted(associations.get(cluster, {}).items())

            def shape(index: int) -> dict:
                key, role = found[index]
                namespace, account = key.split("/", 1)
                arn = f"arn:aws:eks:us-east-1:123456789012:podidentityassociation/{cluster}/a-{index}"
                return {
                    "clusterName": cluster,
                    "namespace": namespace,
                    "serviceAccount": account,
                    "associationArn": arn,
                    "associationId": f"a-{index}",
                    "roleArn": role,
                }

            if len(parts) == 3:
                listed = [{k: v for k, v in shape(i).items() if k != "roleArn"} for i in range(len(found))]
                return 200, {"associations": listed, "nextToken": None}
            index = int(parts[3].removeprefix("a-")) if parts[3].removeprefix("a-").isdigit() else -1
            if not 0 <= index < len(found):
                return 404, {"message": f"No association {parts[3]}"}
            return 200, {"association": shape(index)}

        def addon_answer(path: str):
            """(code, body) for an add-on read, or None when the path is not one."""
            import urllib.parse

            route, _, query = path.partition("?")
            parts = route.strip("/").split("/")
            if parts == ["addons", "configuration-schemas"]:  # DescribeAddonConfiguration
                asked = urllib.parse.parse_qs(query)
                name = asked.get("addonName", [""])[0]
                pods = [{"serviceAccount": iam_addons[name][0], "recommendedManagedPolicies": [iam_addons[name][1]]}]
                return 200, {
                    "addonName": name,
                    "addonVersion": asked.get("addonVersion", [""])[0],
                    "configurationSchema": "{}",
                    "podIdentityConfiguration": pods if name in iam_addons else [],
                }
            if parts == ["addons", "supported-versions"]:
                name = urllib.parse.parse_qs(query).get("addonName", [""])[0]
                return 200, {
                    "addons": [
                        {
                            "addonName": name,
                            "type": "networking",
                            "addonVersions": [
                                {
                                    "addonVersion": "v1.0.0-eksbuild.1",
                                    "architecture": ["amd64", "arm64"],
                                    "compatibilities": [
                                        {"clusterVersion": v, "defaultVersion": True} for v in versions
                                    ],
                                    "requiresConfiguration": False,
                                    "requiresIamPermissions": name in iam_addons,
                                }
                            ],
                        }
                    ]
                }
            if len(parts) in (3, 4) and parts[0] == "clusters" and parts[2] == "addons":
                have = addons.get(parts[1], {})
                if len(parts) == 3:
                    return 200, {"addons": sorted(have), "nextToken": None}
                if parts[3] not in have:
                    return 404, {"message": f"No addon: {parts[3]} found in cluster: {parts[1]}"}
                a = have[parts[3]]
                return 200, {
                    "addon": {
                        "addonName": parts[3],
                        "clusterName": parts[1],
                        "status": a["status"],
                        "addonVersion": "v1.0.0-eksbuild.1",
                        "health": {"issues": []},
                        "configurationValues": a.get("configurationValues", ""),
                        "addonArn": f"arn:aws:eks:us-east-1:123456789012:addon/{parts[1]}/{parts[3]}/x",
                    }
                }
            return None

        class Proxy(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, code: int, body: bytes, headers) -> None:
                self.send_response(code)
                for k, v in headers:
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _forward(self) -> None:
                import json

                if self.command == "GET" and self.path.split("?")[0] == "/cluster-versions":
                    body = json.dumps(
                        {
                            "clusterVersions": [
                                {
                                    "clusterVersion": v,
                                    "clusterType": "eks",
                                    "status": "STANDARD_SUPPORT",
                                    "versionStatus": "STANDARD_SUPPORT",
                                    "defaultVersion": v == "1.33",
                                }
                                for v in versions
                            ]
                        }
                    ).encode()
                    return self._answer(200, body, [("Content-Type", "application/json")])
                answer = (addon_answer(self.path) or association_answer(self.path)) if self.command == "GET" else None
                if answer is not None:
                    code, doc = answer
                    headers = [("Content-Type", "application/json")]
                    if code == 404:
                        headers.append(("x-amzn-ErrorType", "ResourceNotFoundException"))
                    return self._answer(code, json.dumps(doc).encode(), headers)
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                written = addon_write(self.path, data) if self.command == "POST" else None
                if written is not None:
                    return self._answer(200, json.dumps(written).encode(), [("Content-Type", "application/json")])
                if self.headers.get("X-Amz-Target") == "AmazonSSM.GetParameter":
                    name = json.loads(data or b"{}").get("Name")
                    if name in parameters:
                        found = {"Name": name, "Type": "String", "Value": parameters[name], "Version": 1}
                        body = json.dumps({"Parameter": {**found, "DataType": "text"}}).encode()
                        return self._answer(200, body, [("Content-Type", "application/x-amz-json-1.1")])
                data = with_getatt_lists(data)
                request = urllib.request.Request(
                    upstream + self.path,
                    data=data,
                    method=self.command,
                    headers={k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")},
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        body = answer.read()
                        if self.command == "GET" and self.path.startswith("/clusters/") and self.path.count("/") == 2:
                            body = with_real_ca(body)  # moto's CA is random bytes; eksctl parses it as PEM
                        self._answer(answer.status, body, answer.getheaders())
                except urllib.error.HTTPError as error:
                    self._answer(error.code, error.read(), error.headers.items())

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward

        ca = _self_signed_ca()

        def with_getatt_lists(data: bytes | None) -> bytes | None:
            """A CreateStack body with each ``Fn::GetAtt: "Resource.Attribute"`` of its template written as
            ``[Resource, Attribute]``: CloudFormation takes both forms, eksctl's role templates use the first,
            and moto's output check reads only the second (it fails with a 500 otherwise)."""
            import json
            import urllib.parse

            if not data or b"Action=CreateStack" not in data:
                return data
            form = urllib.parse.parse_qsl(data.decode(), keep_blank_values=True)

            def lists(node):
                if isinstance(node, dict):
                    return {
                        k: v.split(".", 1) if k == "Fn::GetAtt" and isinstance(v, str) else lists(v)
                        for k, v in node.items()
                    }
                return [lists(v) for v in node] if isinstance(node, list) else node

            fixed = [(k, json.dumps(lists(json.loads(v))) if k == "TemplateBody" else v) for k, v in form]
            return urllib.parse.urlencode(fixed).encode()

        def with_real_ca(body: bytes) -> bytes:
            import base64
            import json

            doc = json.loads(body)
            if isinstance(doc.get("cluster"), dict):
                kube = mock.kube
                doc["cluster"]["certificateAuthority"] = {"data": base64.b64encode(kube.ca if kube else ca).decode()}
                if kube is not None:
                    doc["cluster"]["endpoint"] = f"https://127.0.0.1:{kube.port}"
                if doc["cluster"].get("name") in auth_modes:  # (shape: EKS API reference, DescribeCluster)
                    doc["cluster"]["accessConfig"] = {"authenticationMode": auth_modes[doc["cluster"]["name"]]}
            return json.dumps(doc).encode()

        self.proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
        threading.Thread(target=self.proxy.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.proxy.server_address[1]}"
        return self

    kube: "ApiServer | None" = None

    def __exit__(self, *exc) -> None:
        self.proxy.shutdown()
        self.moto.stop()

    def env(self, home: Path) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.url,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self):
        import boto3

        return boto3.client(
            "eks",
            region_name="us-east-1",
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def self_signed(folder: Path, common_name: str, *extensions: str) -> tuple[Path, Path]:
    """A self-signed certificate for tests, valid one day: (cert.pem, key.pem) in ``folder``; ``extensions``
    are openssl ``-addext`` values (e.g. subjectAltName=IP:127.0.0.1)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    added = [arg for ext in extensions for arg in ("-addext", ext)]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={common_name}"]
        + added
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def _self_signed_ca() -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        cert, _ = self_signed(Path(tmp), "moto-eks")
        return cert.read_bytes()
