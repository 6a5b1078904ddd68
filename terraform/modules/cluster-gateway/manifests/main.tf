# Every Kubernetes object of one cluster's gateway, as plain values. The parent module applies them; the
# render test (terraform/test/render) checks them against the gateway's own config mappings and applies them
# to a Kubernetes mock API server.

locals {
  labels = {
    "app.kubernetes.io/name"      = "isthmus-gateway"
    "app.kubernetes.io/instance"  = var.name
    "app.kubernetes.io/component" = "gateway"
    "app.kubernetes.io/part-of"   = "isthmus"
    "isthmus.io/cluster"          = var.cluster_name
  }
  selector = {
    "app.kubernetes.io/name"     = "isthmus-gateway"
    "app.kubernetes.io/instance" = var.name
  }

  ports = {
    ingress         = coalesce(var.ports.ingress, 15443)
    egress          = coalesce(var.ports.egress, 15001)
    admin           = coalesce(var.ports.admin, 15012)
    bundle_endpoint = coalesce(var.ports.bundle_endpoint, 8443)
    management      = coalesce(var.ports.management, 8080)
    cross_site      = coalesce(var.ports.cross_site, 7900)
    local_cluster   = coalesce(var.ports.local_cluster, 7800)
  }

  # The headless Service whose A records are the replicas' pod IPs (ready or not): the registry's local cluster
  # discovers its members through it (JGroups DNS_PING), since a Deployment's pod IPs are not known in advance.
  replicas_service_name = "${var.name}-replicas"
  replicas_dns_name     = "${local.replicas_service_name}.${var.namespace}.svc.${var.cluster_domain}"

  ca_dir     = "/etc/isthmus/ca"
  admin_dir  = "/etc/isthmus/admin"
  config_dir = "/etc/isthmus/config"
  data_dir   = "/var/lib/isthmus"

  # The gateway's configuration: every key is read by a @ConfigMapping of the gateway (the render test fails on
  # a key the gateway does not know, so a rename on either side is caught).
  peer_config = merge([
    for peer_name, peer in var.peers : merge(
      {
        "isthmus.peers.${peer_name}.trust-domain"        = peer.trust_domain
        "isthmus.peers.${peer_name}.bundle-endpoint-url" = peer.bundle_endpoint_url
      },
      peer.endpoint_spiffe_id == null ? {} : {
        "isthmus.peers.${peer_name}.endpoint-spiffe-id" = peer.endpoint_spiffe_id
      },
      # Only these identities of the peer may vouch for callers at this ingress; without them, the gateway's default.
      length(coalesce(peer.gateway_ids, [])) == 0 ? {} : {
        "isthmus.peers.${peer_name}.gateway-ids" = join(",", peer.gateway_ids)
      },
      # The peer's registry site: its TLS bridge must present a gateway SVID of exactly this trust domain.
      length(coalesce(peer.cross_site_addresses, [])) == 0 ? {} : {
        "isthmus.registry.peers.${peer_name}.trust-domain"     = peer.trust_domain
        "isthmus.registry.peers.${peer_name}.bridge-addresses" = join(",", peer.cross_site_addresses)
      }
    )
  ]...)

  locality_config = merge(
    var.locality.region == "" ? {} : {
      "isthmus.registry.locality.region" = var.locality.region
      "isthmus.proxy.locality.region"    = var.locality.region
    },
    var.locality.zone == "" ? {} : {
      "isthmus.registry.locality.zone" = var.locality.zone
      "isthmus.proxy.locality.zone"    = var.locality.zone
    },
  )

  admin_config = merge(
    # Whether a token is set is not secret; the token itself only goes to the Secret.
    nonsensitive(var.admin_token == null) ? {} : { "isthmus.admin.bootstrap-token-file" = "${local.admin_dir}/admin.token" },
    length(var.admin_spiffe_ids) == 0 ? {} : { "isthmus.admin.spiffe-ids" = join(",", var.admin_spiffe_ids) },
  )

  config = merge({
    "isthmus.trust-domain"                 = var.trust_domain
    "isthmus.cluster-name"                 = var.cluster_name
    "isthmus.data-dir"                     = local.data_dir
    "isthmus.ca.root-certificates"         = "${local.ca_dir}/root.pem"
    "isthmus.ca.intermediate-chain"        = "${local.ca_dir}/intermediate.pem"
    "isthmus.ca.intermediate-key"          = "${local.ca_dir}/intermediate.key"
    "isthmus.ca.svid-ttl"                  = var.svid_ttl
    "isthmus.identity.namespace"           = var.namespace
    "isthmus.identity.service-account"     = var.name
    "isthmus.bundle-endpoint.port"         = tostring(local.ports.bundle_endpoint)
    "isthmus.bundle-endpoint.refresh-hint" = var.bundle_refresh_hint
    "quarkus.http.port"                    = tostring(local.ports.admin)
    "quarkus.http.ssl-port"                = tostring(local.ports.admin)
    "quarkus.management.port"              = tostring(local.ports.management)
    # Registry: this cluster is one Infinispan site; its bridge listens on the cross-site port of the pod.
    "isthmus.registry.site"       = var.cluster_name
    "isthmus.registry.bind-host"  = "$${POD_IP}"
    "isthmus.registry.xsite-port" = tostring(local.ports.cross_site)
    # The replicas form one local cluster on the local port, found by DNS through the headless replicas Service.
    "isthmus.registry.local-port"         = tostring(local.ports.local_cluster)
    "isthmus.registry.local-dns-query"    = local.replicas_dns_name
    "isthmus.registry.kubernetes.enabled" = "true"
    # Data plane: ingress from peers, egress for local workloads, backends are the in-cluster Services.
    "isthmus.proxy.ingress.port"        = tostring(local.ports.ingress)
    "isthmus.proxy.egress.port"         = tostring(local.ports.egress)
    "isthmus.proxy.kubernetes-backends" = "true"
    "isthmus.authz.source"              = "kubernetes"
    }, var.public_address == "" ? {} : {
    "isthmus.registry.ingress-address" = "${var.public_address}:${local.ports.ingress}"
  }, local.peer_config, local.locality_config, local.admin_config, var.extra_config)

  application_properties = join("\n", concat(
    ["# Rendered by terraform/modules/cluster-gateway. Keys: GatewayConfig and the other isthmus.* mappings."],
    [for key in sort(keys(local.config)) : "${key}=${local.config[key]}"]
  ))

  crds = {
    for file in fileset("${path.module}/crds", "*.yaml") :
    trimsuffix(file, ".yaml") => yamldecode(file("${path.module}/crds/${file}"))
  }

  objects = {
    namespace = {
      apiVersion = "v1"
      kind       = "Namespace"
      metadata   = { name = var.namespace, labels = { "app.kubernetes.io/part-of" = "isthmus" } }
    }

    service_account = {
      apiVersion = "v1"
      kind       = "ServiceAccount"
      metadata   = { name = var.name, namespace = var.namespace, labels = local.labels }
    }

    cluster_role = {
      apiVersion = "rbac.authorization.k8s.io/v1"
      kind       = "ClusterRole"
      metadata   = { name = "${var.namespace}-${var.name}", labels = local.labels }
      rules = [
        # Exports: the Services and EndpointSlices behind each ServiceExport, across namespaces.
        { apiGroups = [""], resources = ["services"], verbs = ["get", "list", "watch"] },
        { apiGroups = ["discovery.k8s.io"], resources = ["endpointslices"], verbs = ["get", "list", "watch"] },
        { apiGroups = ["multicluster.x-k8s.io"], resources = ["serviceexports"], verbs = ["get", "list", "watch"] },
        { apiGroups = ["multicluster.x-k8s.io"], resources = ["serviceexports/status"], verbs = ["get", "update", "patch"] },
        # Imports: the gateway writes a ServiceImport for every service another cluster exports.
        { apiGroups = ["multicluster.x-k8s.io"], resources = ["serviceimports"], verbs = ["get", "list", "watch", "create", "update", "patch", "delete"] },
        # Local callers presenting a projected service-account token are checked with TokenReview.
        { apiGroups = ["authentication.k8s.io"], resources = ["tokenreviews"], verbs = ["create"] },
        # Federated authorization policies (our CRD).
        { apiGroups = ["security.isthmus.io"], resources = ["authorizationpolicies"], verbs = ["get", "list", "watch"] },
        # An invalid policy is marked status.accepted=false with the reason.
        { apiGroups = ["security.isthmus.io"], resources = ["authorizationpolicies/status"], verbs = ["get", "update", "patch"] },
      ]
    }

    cluster_role_binding = {
      apiVersion = "rbac.authorization.k8s.io/v1"
      kind       = "ClusterRoleBinding"
      metadata   = { name = "${var.namespace}-${var.name}", labels = local.labels }
      roleRef    = { apiGroup = "rbac.authorization.k8s.io", kind = "ClusterRole", name = "${var.namespace}-${var.name}" }
      subjects   = [{ kind = "ServiceAccount", name = var.name, namespace = var.namespace }]
    }

    ca_secret = {
      apiVersion = "v1"
      kind       = "Secret"
      type       = "Opaque"
      metadata   = { name = "${var.name}-ca", namespace = var.namespace, labels = local.labels }
      stringData = {
        "root.pem"         = var.root_certificate_pem
        "intermediate.pem" = var.intermediate_certificate_pem
        "intermediate.key" = var.intermediate_private_key_pem
      }
    }

    admin_secret = {
      apiVersion = "v1"
      kind       = "Secret"
      type       = "Opaque"
      metadata   = { name = "${var.name}-admin", namespace = var.namespace, labels = local.labels }
      stringData = var.admin_token == null ? {} : { "admin.token" = var.admin_token }
    }

    config = {
      apiVersion = "v1"
      kind       = "ConfigMap"
      metadata   = { name = "${var.name}-config", namespace = var.namespace, labels = local.labels }
      data       = { "application.properties" = local.application_properties }
    }

    deployment = {
      apiVersion = "apps/v1"
      kind       = "Deployment"
      metadata   = { name = var.name, namespace = var.namespace, labels = local.labels }
      spec = {
        replicas = var.replicas
        selector = { matchLabels = local.selector }
        strategy = { type = "RollingUpdate", rollingUpdate = { maxUnavailable = 0, maxSurge = 1 } }
        template = {
          metadata = { labels = local.labels }
          spec = {
            serviceAccountName = var.name
            securityContext    = { runAsNonRoot = true, runAsUser = 185, fsGroup = 185, seccompProfile = { type = "RuntimeDefault" } }
            affinity = {
              podAntiAffinity = {
                preferredDuringSchedulingIgnoredDuringExecution = [{
                  weight = 100
                  podAffinityTerm = {
                    topologyKey   = "topology.kubernetes.io/zone"
                    labelSelector = { matchLabels = local.selector }
                  }
                }]
              }
            }
            containers = [{
              name  = "gateway"
              image = var.image
              env = [
                { name = "QUARKUS_CONFIG_LOCATIONS", value = "${local.config_dir}/application.properties" },
                { name = "POD_NAME", valueFrom = { fieldRef = { fieldPath = "metadata.name" } } },
                { name = "POD_IP", valueFrom = { fieldRef = { fieldPath = "status.podIP" } } },
              ]
              ports = [
                { name = "ingress", containerPort = local.ports.ingress, protocol = "TCP" },
                { name = "egress", containerPort = local.ports.egress, protocol = "TCP" },
                { name = "admin", containerPort = local.ports.admin, protocol = "TCP" },
                { name = "bundle", containerPort = local.ports.bundle_endpoint, protocol = "TCP" },
                { name = "management", containerPort = local.ports.management, protocol = "TCP" },
                { name = "xsite", containerPort = local.ports.cross_site, protocol = "TCP" },
                { name = "local-cluster", containerPort = local.ports.local_cluster, protocol = "TCP" },
              ]
              startupProbe   = { httpGet = { path = "/q/health/started", port = "management" }, periodSeconds = 2, failureThreshold = 60 }
              livenessProbe  = { httpGet = { path = "/q/health/live", port = "management" }, periodSeconds = 10, failureThreshold = 3 }
              readinessProbe = { httpGet = { path = "/q/health/ready", port = "management" }, periodSeconds = 5, failureThreshold = 2 }
              resources      = { requests = coalesce(var.resources.requests, { cpu = "500m", memory = "768Mi" }), limits = coalesce(var.resources.limits, { memory = "1536Mi" }) }
              securityContext = {
                allowPrivilegeEscalation = false
                readOnlyRootFilesystem   = true
                capabilities             = { drop = ["ALL"] }
              }
              volumeMounts = [
                { name = "ca", mountPath = local.ca_dir, readOnly = true },
                { name = "admin", mountPath = local.admin_dir, readOnly = true },
                { name = "config", mountPath = local.config_dir, readOnly = true },
                { name = "data", mountPath = local.data_dir },
                { name = "tmp", mountPath = "/tmp" },
              ]
            }]
            volumes = [
              { name = "ca", secret = { secretName = "${var.name}-ca", defaultMode = 256 } },
              { name = "admin", secret = { secretName = "${var.name}-admin", defaultMode = 256 } },
              { name = "config", configMap = { name = "${var.name}-config" } },
              { name = "data", emptyDir = {} },
              { name = "tmp", emptyDir = {} },
            ]
          }
        }
      }
    }

    pod_disruption_budget = {
      apiVersion = "policy/v1"
      kind       = "PodDisruptionBudget"
      metadata   = { name = var.name, namespace = var.namespace, labels = local.labels }
      spec       = { minAvailable = var.replicas > 1 ? 1 : 0, selector = { matchLabels = local.selector } }
    }

    # Reached by peer gateways and VM agents: east-west ingress, bundle endpoint, cross-site bridge, enrolment.
    public_service = {
      apiVersion = "v1"
      kind       = "Service"
      metadata   = { name = "${var.name}-public", namespace = var.namespace, labels = local.labels, annotations = var.load_balancer_annotations }
      spec = {
        type                  = "LoadBalancer"
        externalTrafficPolicy = "Local"
        selector              = local.selector
        ports = [
          { name = "ingress", port = local.ports.ingress, targetPort = "ingress", protocol = "TCP" },
          { name = "bundle", port = local.ports.bundle_endpoint, targetPort = "bundle", protocol = "TCP" },
          { name = "xsite", port = local.ports.cross_site, targetPort = "xsite", protocol = "TCP" },
          { name = "admin", port = local.ports.admin, targetPort = "admin", protocol = "TCP" },
        ]
      }
    }

    # Reached by local workloads: the egress they call mesh names through.
    egress_service = {
      apiVersion = "v1"
      kind       = "Service"
      metadata   = { name = "${var.name}-egress", namespace = var.namespace, labels = local.labels }
      spec = {
        type     = "ClusterIP"
        selector = local.selector
        ports    = [{ name = "egress", port = local.ports.egress, targetPort = "egress", protocol = "TCP" }]
      }
    }

    # Lets the replicas find each other (one local Infinispan cluster) by DNS: isthmus.registry.local-dns-query
    # is this Service's name; its A records list every replica, ready or not (a replica becomes ready only
    # after it has joined), and each is dialled at the local-cluster port.
    replicas_service = {
      apiVersion = "v1"
      kind       = "Service"
      metadata   = { name = local.replicas_service_name, namespace = var.namespace, labels = local.labels }
      spec = {
        clusterIP                = "None"
        publishNotReadyAddresses = true
        selector                 = local.selector
        ports                    = [{ name = "local-cluster", port = local.ports.local_cluster, targetPort = "local-cluster", protocol = "TCP" }]
      }
    }
  }
}
