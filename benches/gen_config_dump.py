#!/usr/bin/env python3
"""Writes an Envoy-shaped /config_dump?include_eds of about TARGET_MB megabytes: the clusters,
listeners, routes and endpoints of fixtures/envoy/config-dump-full.json and
config-dump-clusters-listeners-routes.json copied with distinct names (services svc-N), so
`proxy-config all -f` has a large mesh's worth of rows to sort and align."""
import copy, json, sys

target = float(sys.argv[1]) * 1024 * 1024
out_path = sys.argv[2]
full = json.load(open("fixtures/envoy/config-dump-full.json"))
clr = json.load(open("fixtures/envoy/config-dump-clusters-listeners-routes.json"))

def section(dump, suffix):
    return next(c for c in dump["configs"] if c["@type"].endswith(suffix))

clusters = section(full, "ClustersConfigDump")
listeners = section(full, "ListenersConfigDump")
routes = section(full, "RoutesConfigDump")
endpoints = section(full, "EndpointsConfigDump")
tmpl_cluster = section(clr, "ClustersConfigDump")["dynamic_active_clusters"][0]
tmpl_listener = section(clr, "ListenersConfigDump")["dynamic_listeners"][0]
tmpl_route = section(clr, "RoutesConfigDump")["dynamic_route_configs"][0]
tmpl_eds = endpoints["dynamic_endpoint_configs"][0]
old_cluster = tmpl_cluster["cluster"]["name"]
routes.setdefault("dynamic_route_configs", [])

def renamed(item, old, new):
    return json.loads(json.dumps(item).replace(old, new))

size, i = len(json.dumps(full, indent=1)), 0
while size < target:
    i += 1
    host = f"svc-{i}.ns-{i % 50}.svc.cluster.local"
    name = f"outbound|{8000 + i % 1000}|v{i % 3}|{host}"
    for item, bucket, key in (
        (tmpl_cluster, clusters, "dynamic_active_clusters"),
        (tmpl_listener, listeners, "dynamic_listeners"),
        (tmpl_route, routes, "dynamic_route_configs"),
        (tmpl_eds, endpoints, "dynamic_endpoint_configs"),
    ):
        new = renamed(item, old_cluster, name)
        if key == "dynamic_listeners":
            new["name"] = new["active_state"]["listener"]["name"] = f"10.{i // 250 % 250}.{i % 250}.1_{8000 + i % 1000}"
        if key == "dynamic_route_configs":
            new["route_config"]["name"] = str(8000 + i)
            for vh in new["route_config"].get("virtual_hosts", []):
                vh["domains"] = [host, f"{host}:80", f"svc-{i}", f"svc-{i}.ns-{i % 50}"]
        if key == "dynamic_endpoint_configs":
            new["endpoint_config"]["cluster_name"] = name
        bucket[key].append(new)
        size += len(json.dumps(new, indent=1))
json.dump(full, open(out_path, "w"), indent=1)
print(f"{i} services", file=sys.stderr)
