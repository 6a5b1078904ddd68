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

  ports = var.ports

  # The headless Service whose A records are the replicas' pod IPs (ready or not): the registry's local cluster
  # discovers its members through it (JGroups DNS_PING), and it is the StatefulSet's governing Service.
  replicas_service_name = "${var.name}-replicas"
  replicas_dns_name     = "${local.replicas_service_name}.${var.namespace}.svc.${var.cluster_domain}"

  ca_dir     = "/etc/isthmus/ca"
  admin_dir  = "/etc/isthmus/admin"
  config_dir = "/etc/isthmus/config"
  data_dir   = "/var/lib/isthmus"

  # The key is either given inline (it then passes through Terraform's state) or read from an existing Secret.
  inline_intermediate = var.intermediate_secret == null
  # Inline, by generation: only the active one goes into the CA Secret, at the same paths, so that a switch changes
  # that Secret's content and never the pod template (a restarted gateway would sign with the new intermediate at
  # once, before any peer holds it; the running one publishes it first and activates it once every peer does).
  active_generation = var.active_intermediate_generation == null ? null : var.intermediate_generations[var.active_intermediate_generation]
  intermediate_pem  = local.active_generation == null ? var.intermediate_certificate_pem : local.active_generation.certificate_pem
  intermediate_key  = local.active_generation == null ? var.intermediate_private_key_pem : local.active_generation.private_key_pem

  # A DNS name (not an IP) can be published by external-dns from an annotation on the load balancer's Service.
  public_address_is_name = !can(regex("^[0-9.]+$", var.public_address))

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
    # On SIGTERM the gateway reports not ready for the delay while it keeps serving (the load balancer takes it
    # out meanwhile), then finishes requests in flight within the timeout.
    "quarkus.shutdown.delay"   = "${var.drain.delay_seconds}s"
    "quarkus.shutdown.timeout" = "${var.drain.timeout_seconds}s"
    # Registry: this cluster is one Infinispan site. Peers reach its bridge only through the public load
    # balancer, which may pick any replica: each replica relays bridge connections to the site master, whose own
    # bridge listens on the master port and advertises the public address (never the pod IP, which peers in
    # other networks cannot reach).
    "isthmus.registry.site"                      = var.cluster_name
    "isthmus.registry.bind-host"                 = "$${POD_IP}"
    "isthmus.registry.xsite-port"                = tostring(local.ports.cross_site)
    "isthmus.registry.xsite-master-port"         = tostring(local.ports.cross_site_master)
    "isthmus.registry.advertised-bridge-address" = "${var.public_address}:${local.ports.cross_site}"
    "isthmus.registry.ingress-address"           = "${var.public_address}:${local.ports.ingress}"
    # The replicas form one local cluster on the local port, found by DNS through the headless replicas Service.
    "isthmus.registry.local-port"         = tostring(local.ports.local_cluster)
    "isthmus.registry.local-dns-query"    = local.replicas_dns_name
    "isthmus.registry.kubernetes.enabled" = "true"
    # Data plane: ingress from peers, egress for local workloads, backends are the in-cluster Services.
    "isthmus.proxy.ingress.port"        = tostring(local.ports.ingress)
    "isthmus.proxy.egress.port"         = tostring(local.ports.egress)
    "isthmus.proxy.kubernetes-backends" = "true"
    "isthmus.authz.source"              = "kubernetes"
    # A policy in the root namespace applies mesh-wide: it must be the namespace this module controls, not a
    # default name that anyone allowed to create namespaces could claim.
    "isthmus.authz.root-namespace"         = var.namespace
    "isthmus.authz.token-review.audiences" = join(",", var.token_review_audiences)
  }, local.peer_config, local.locality_config, local.admin_config, var.extra_config)

  application_properties = join("\n", concat(
    ["# Rendered by terraform/modules/cluster-gateway. Keys: GatewayConfig and the other isthmus.* mappings."],
    [for key in sort(keys(local.config)) : "${key}=${local.config[key]}"]
  ))

  crd_files = {
    mcs   = ["serviceexports.multicluster.x-k8s.io.yaml", "serviceimports.multicluster.x-k8s.io.yaml"]
    authz = ["authorizationpolicies.security.isthmus.io.yaml"]
  }
  crds = merge([
    for set, files in local.crd_files : {
      for file in files : trimsuffix(file, ".yaml") => yamldecode(file("${path.module}/crds/${file}"))
    } if var.install_crds[set]
  ]...)

  # The intermediate's files as the gateway reads them: from the module's Secret, or mapped from an existing one.
  ca_volume = {
    name = "ca"
    projected = {
      defaultMode = 256
      sources = concat(
        [{ secret = { name = "${var.name}-ca" } }],
        local.inline_intermediate ? [] : [{ secret = {
          name = var.intermediate_secret.name
          items = [
            { key = var.intermediate_secret.certificate_key, path = "intermediate.pem" },
            { key = var.intermediate_secret.private_key_key, path = "intermediate.key" },
          ]
        } }],
      )
    }
  }

  anti_affinity_term = { topologyKey = "kubernetes.io/hostname", labelSelector = { matchLabels = local.selector } }
  zone_preference = {
    weight          = 100
    podAffinityTerm = { topologyKey = "topology.kubernetes.io/zone", labelSelector = { matchLabels = local.selector } }
  }
  affinity = {
    podAntiAffinity = var.scheduling.anti_affinity == "required" ? {
      requiredDuringSchedulingIgnoredDuringExecution  = [local.anti_affinity_term]
      preferredDuringSchedulingIgnoredDuringExecution = [local.zone_preference]
      } : {
      requiredDuringSchedulingIgnoredDuringExecution = []
      preferredDuringSchedulingIgnoredDuringExecution = [
        { weight = 100, podAffinityTerm = local.anti_affinity_term },
        merge(local.zone_preference, { weight = 50 }),
      ]
    }
  }

  container = {
    name            = "gateway"
    image           = var.image
    imagePullPolicy = var.image_pull_policy
    env = [
      { name = "QUARKUS_CONFIG_LOCATIONS", value = "${local.config_dir}/application.properties" },
      { name = "POD_NAME", valueFrom = { fieldRef = { fieldPath = "metadata.name" } } },
      { name = "POD_IP", valueFrom = { fieldRef = { fieldPath = "status.podIP" } } },
      # Honoured by every JVM whatever the image's entrypoint: the heap follows the container's memory limit.
      { name = "JAVA_TOOL_OPTIONS", value = "-XX:MaxRAMPercentage=${var.jvm_max_ram_percentage} -XX:+ExitOnOutOfMemoryError" },
    ]
    ports = [
      { name = "ingress", containerPort = local.ports.ingress, protocol = "TCP" },
      { name = "egress", containerPort = local.ports.egress, protocol = "TCP" },
      { name = "admin", containerPort = local.ports.admin, protocol = "TCP" },
      { name = "bundle", containerPort = local.ports.bundle_endpoint, protocol = "TCP" },
      { name = "management", containerPort = local.ports.management, protocol = "TCP" },
      { name = "xsite", containerPort = local.ports.cross_site, protocol = "TCP" },
      { name = "xsite-master", containerPort = local.ports.cross_site_master, protocol = "TCP" },
      { name = "local-cluster", containerPort = local.ports.local_cluster, protocol = "TCP" },
    ]
    startupProbe   = { httpGet = { path = "/q/health/started", port = "management" }, periodSeconds = 2, failureThreshold = 60 }
    livenessProbe  = { httpGet = { path = "/q/health/live", port = "management" }, periodSeconds = 10, failureThreshold = 3 }
    readinessProbe = { httpGet = { path = "/q/health/ready", port = "management" }, periodSeconds = 5, failureThreshold = 2 }
    resources      = { requests = var.resources.requests, limits = var.resources.limits }
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
  }

  pod_spec = merge(
    {
      serviceAccountName            = var.name
      automountServiceAccountToken  = true
      terminationGracePeriodSeconds = var.drain.delay_seconds + var.drain.timeout_seconds + 10
      securityContext = {
        runAsNonRoot        = true
        runAsUser           = 185
        fsGroup             = 185
        fsGroupChangePolicy = "OnRootMismatch"
        seccompProfile      = { type = "RuntimeDefault" }
      }
      affinity   = local.affinity
      containers = [local.container]
      volumes = concat(
        [
          local.ca_volume,
          { name = "admin", secret = { secretName = "${var.name}-admin", defaultMode = 256 } },
          { name = "config", configMap = { name = "${var.name}-config" } },
          { name = "tmp", emptyDir = { sizeLimit = "256Mi" } },
        ],
        var.persistence.enabled ? [] : [{ name = "data", emptyDir = { sizeLimit = var.persistence.size } }],
      )
    },
    length(var.scheduling.node_selector) == 0 ? {} : { nodeSelector = var.scheduling.node_selector },
    length(var.scheduling.tolerations) == 0 ? {} : { tolerations = var.scheduling.tolerations },
    length(var.scheduling.topology_spread_constraints) == 0 ? {} : { topologySpreadConstraints = var.scheduling.topology_spread_constraints },
    var.scheduling.priority_class_name == null ? {} : { priorityClassName = var.scheduling.priority_class_name },
    length(var.image_pull_secrets) == 0 ? {} : { imagePullSecrets = [for s in var.image_pull_secrets : { name = s }] },
  )

  data_claim = {
    metadata = { name = "data", labels = local.labels }
    spec = merge(
      { accessModes = ["ReadWriteOnce"], resources = { requests = { storage = var.persistence.size } } },
      var.persistence.storage_class == null ? {} : { storageClassName = var.persistence.storage_class },
    )
  }

  # NetworkPolicy peers by namespace name; none named means every namespace (an empty selector matches all).
  from_namespaces = {
    for set, names in {
      egress     = var.network_policy.egress_namespaces
      admin      = var.admin_access.namespaces
      management = var.network_policy.management_namespaces
      } : set => [for ns in(length(names) == 0 ? [null] : names) : {
        namespaceSelector = { matchLabels = ns == null ? {} : { "kubernetes.io/metadata.name" = ns } }
    }]
  }

  # The two Secrets hold key material; only they are sensitive, so plans show every other change.
  secrets = {
    ca_secret = {
      apiVersion = "v1"
      kind       = "Secret"
      type       = "Opaque"
      metadata   = { name = "${var.name}-ca", namespace = var.namespace, labels = local.labels }
      # data, not stringData: the API server never returns stringData (it is write-only), so the kubernetes
      # provider would find the applied object inconsistent with its plan after every apply.
      data = merge(
        { "root.pem" = base64encode(var.root_certificate_pem) },
        local.inline_intermediate ? {
          "intermediate.pem" = base64encode(local.intermediate_pem)
          "intermediate.key" = base64encode(local.intermediate_key)
        } : {},
      )
    }

    admin_secret = {
      apiVersion = "v1"
      kind       = "Secret"
      type       = "Opaque"
      metadata   = { name = "${var.name}-admin", namespace = var.namespace, labels = local.labels }
      data       = var.admin_token == null ? {} : { "admin.token" = base64encode(var.admin_token) }
    }
  }

  objects = merge(var.create_namespace ? {
    namespace = {
      apiVersion = "v1"
      kind       = "Namespace"
      metadata = { name = var.namespace, labels = {
        "app.kubernetes.io/part-of"          = "isthmus"
        "pod-security.kubernetes.io/enforce" = "restricted"
        "pod-security.kubernetes.io/audit"   = "restricted"
        "pod-security.kubernetes.io/warn"    = "restricted"
      } }
    }
    } : {}, {
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
        # Imports: the gateway writes a ServiceImport for every service another cluster exports, in that service's
        # namespace (which can be any), and its status.clusters through the status subresource.
        { apiGroups = ["multicluster.x-k8s.io"], resources = ["serviceimports"], verbs = ["get", "list", "watch", "create", "update", "patch", "delete"] },
        { apiGroups = ["multicluster.x-k8s.io"], resources = ["serviceimports/status"], verbs = ["get", "update", "patch"] },
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

    config = {
      apiVersion = "v1"
      kind       = "ConfigMap"
      metadata   = { name = "${var.name}-config", namespace = var.namespace, labels = local.labels }
      data       = { "application.properties" = local.application_properties }
    }

    # A StatefulSet: each replica keeps its data directory (peer bundles, bundle sequence, enrolment state and
    # revocations) on its own volume across restarts and reschedules.
    stateful_set = {
      apiVersion = "apps/v1"
      kind       = "StatefulSet"
      metadata   = { name = var.name, namespace = var.namespace, labels = local.labels }
      spec = merge({
        replicas    = var.replicas
        serviceName = local.replicas_service_name
        selector    = { matchLabels = local.selector }
        # Replicas start together and find each other through the headless Service (it lists unready pods).
        podManagementPolicy = "Parallel"
        updateStrategy      = { type = "RollingUpdate", rollingUpdate = { partition = 0 } }
        minReadySeconds     = 10
        template = {
          metadata = {
            labels = local.labels
            # The gateway reads its configuration once, at start: a change to it must replace the pods. The CA
            # files and the admin token are not in this checksum: the gateway reloads them while it runs.
            annotations = { "checksum/config" = sha256(local.application_properties) }
          }
          spec = local.pod_spec
        }
      }, var.persistence.enabled ? { volumeClaimTemplates = [local.data_claim] } : {})
    }

    pod_disruption_budget = {
      apiVersion = "policy/v1"
      kind       = "PodDisruptionBudget"
      metadata   = { name = var.name, namespace = var.namespace, labels = local.labels }
      spec       = { minAvailable = var.replicas > 1 ? 1 : 0, selector = { matchLabels = local.selector } }
    }

    # Reached by peer gateways across networks: east-west ingress, bundle endpoint, cross-site bridge.
    public_service = {
      apiVersion = "v1"
      kind       = "Service"
      metadata = {
        name      = "${var.name}-public"
        namespace = var.namespace
        labels    = local.labels
        annotations = merge(
          local.public_address_is_name && var.load_balancer.external_dns ? { "external-dns.alpha.kubernetes.io/hostname" = var.public_address } : {},
          var.load_balancer.annotations,
        )
      }
      spec = merge({
        type                  = "LoadBalancer"
        externalTrafficPolicy = var.load_balancer.external_traffic_policy
        selector              = local.selector
        ports = [
          { name = "ingress", port = local.ports.ingress, targetPort = "ingress", protocol = "TCP" },
          { name = "bundle", port = local.ports.bundle_endpoint, targetPort = "bundle", protocol = "TCP" },
          { name = "xsite", port = local.ports.cross_site, targetPort = "xsite", protocol = "TCP" },
        ]
        },
        length(var.load_balancer.source_ranges) == 0 ? {} : { loadBalancerSourceRanges = var.load_balancer.source_ranges },
        var.load_balancer.class == null ? {} : { loadBalancerClass = var.load_balancer.class },
        var.load_balancer.ip == null ? {} : { loadBalancerIP = var.load_balancer.ip },
      )
    }

    # The admin and enrolment API (mint join tokens, revoke identities): never on the public load balancer.
    admin_service = {
      apiVersion = "v1"
      kind       = "Service"
      metadata   = { name = "${var.name}-admin", namespace = var.namespace, labels = local.labels, annotations = var.admin_access.annotations }
      spec = merge({
        type     = var.admin_access.service_type
        selector = local.selector
        ports    = [{ name = "admin", port = local.ports.admin, targetPort = "admin", protocol = "TCP" }]
        },
        # Local keeps the VM's source address: the enrolment rate limit and the NetworkPolicy's ipBlocks see it.
        var.admin_access.service_type == "LoadBalancer" ? { externalTrafficPolicy = "Local" } : {},
        var.admin_access.service_type == "LoadBalancer" && length(var.admin_access.source_ranges) > 0 ? { loadBalancerSourceRanges = var.admin_access.source_ranges } : {},
        var.admin_access.service_type == "LoadBalancer" && var.admin_access.class != null ? { loadBalancerClass = var.admin_access.class } : {},
      )
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
    # after it has joined), and each is dialled at the local-cluster port. The site master's own bridge is
    # reached through it by the other replicas' relays.
    replicas_service = {
      apiVersion = "v1"
      kind       = "Service"
      metadata   = { name = local.replicas_service_name, namespace = var.namespace, labels = local.labels }
      spec = {
        clusterIP                = "None"
        publishNotReadyAddresses = true
        selector                 = local.selector
        ports = [
          { name = "local-cluster", port = local.ports.local_cluster, targetPort = "local-cluster", protocol = "TCP" },
          { name = "xsite-master", port = local.ports.cross_site_master, targetPort = "xsite-master", protocol = "TCP" },
        ]
      }
    }
    }, var.network_policy.enabled ? {
    network_policy = {
      apiVersion = "networking.k8s.io/v1"
      kind       = "NetworkPolicy"
      metadata   = { name = var.name, namespace = var.namespace, labels = local.labels }
      spec = {
        podSelector = { matchLabels = local.selector }
        policyTypes = ["Ingress"]
        ingress = concat(
          [
            # Public: peers come through the load balancer (restrict them there with load_balancer.source_ranges).
            { ports = [for p in [local.ports.ingress, local.ports.bundle_endpoint, local.ports.cross_site] : { port = p, protocol = "TCP" }] },
            { ports = [{ port = local.ports.egress, protocol = "TCP" }], from = local.from_namespaces.egress },
            {
              ports = [{ port = local.ports.admin, protocol = "TCP" }]
              from  = concat(local.from_namespaces.admin, [for cidr in var.admin_access.source_ranges : { ipBlock = { cidr = cidr } }])
            },
            # Replica to replica only: the local cluster and the relay to the site master's bridge.
            {
              ports = [for p in [local.ports.local_cluster, local.ports.cross_site_master] : { port = p, protocol = "TCP" }]
              from  = [{ podSelector = { matchLabels = local.selector } }]
            },
          ],
          # A rule without 'from' admits everyone, so no management rule at all unless namespaces are named (the
          # kubelet's probes come from the pod's own node, whose traffic NetworkPolicy always admits).
          length(var.network_policy.management_namespaces) == 0 ? [] : [{
            ports = [{ port = local.ports.management, protocol = "TCP" }]
            from  = local.from_namespaces.management
          }],
        )
      }
    }
  } : {})
}
