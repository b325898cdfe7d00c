#!/usr/bin/env python3
"""Generates an analyze benchmark corpus: N objects spread over 100 namespaces, one file per
namespace, mixing Services, Deployments, VirtualServices, DestinationRules, Gateways, Sidecars and
ServiceEntries the way a GitOps repository does (with a few real findings mixed in)."""
import os
import sys

def main():
    out, total = sys.argv[1], int(sys.argv[2])
    namespaces = 100
    per_ns = total // namespaces
    # 7 kinds per "app"; each app yields 7 objects, and the last app is cut short so each
    # namespace holds exactly total/100 objects.
    apps = max(1, -(-per_ns // 7))
    os.makedirs(out, exist_ok=True)
    for n in range(namespaces):
        ns = f"team-{n:03d}"
        docs = []
        for a in range(apps):
            app = f"app-{a:03d}"
            docs.append(f"""apiVersion: v1
kind: Service
metadata:
  name: {app}
  namespace: {ns}
spec:
  selector:
    app: {app}
  ports:
  - name: http
    port: 8080
    targetPort: 8080
""")
            docs.append(f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}-v1
  namespace: {ns}
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {app}
      version: v1
  template:
    metadata:
      labels:
        app: {app}
        version: v1
    spec:
      containers:
      - name: {app}
        image: example/{app}:1.0
        ports:
        - containerPort: 8080
""")
            subset = "v2" if a % 10 == 0 else "v1"  # every tenth app routes to a missing subset
            docs.append(f"""apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: {app}
  namespace: {ns}
spec:
  hosts:
  - {app}
  gateways:
  - mesh
  - {ns}-gateway
  http:
  - match:
    - headers:
        end-user:
          exact: jason
    route:
    - destination:
        host: {app}
        subset: {subset}
  - route:
    - destination:
        host: {app}
        subset: v1
      weight: 100
""")
            docs.append(f"""apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: {app}
  namespace: {ns}
spec:
  host: {app}
  trafficPolicy:
    connectionPool:
      tcp:
        maxConnections: 100
  subsets:
  - name: v1
    labels:
      version: v1
""")
            docs.append(f"""apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: {ns}-gateway-{a}
  namespace: {ns}
spec:
  selector:
    istio: ingressgateway
  servers:
  - port:
      number: 80
      name: http
      protocol: HTTP
    hosts:
    - "{app}.{ns}.example.com"
""")
            docs.append(f"""apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: {app}
  namespace: {ns}
spec:
  workloadSelector:
    labels:
      app: {app}
  egress:
  - hosts:
    - "./*"
    - "istio-system/*"
""")
            docs.append(f"""apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: {app}-external
  namespace: {ns}
spec:
  hosts:
  - {app}.external.example.com
  ports:
  - number: 443
    name: https
    protocol: TLS
  resolution: DNS
  location: MESH_EXTERNAL
""")
        with open(os.path.join(out, f"{ns}.yaml"), "w") as f:
            f.write("---\n".join(docs[:per_ns]))

if __name__ == "__main__":
    main()
