# The inputs of one cluster's gateway. cluster-gateway reads this same file (its variables.tf is a link to it), so
# each input and its checks are written once. Every check below stands for something the gateway (or Kubernetes)
# would otherwise refuse only at run time, in a crash-looping pod.

variable "name" {
  description = "Name of the gateway's Kubernetes objects (StatefulSet, Services, ServiceAccount, ...). Its pods are <name>-0, <name>-1, ..."
  type        = string
  default     = "isthmus-gateway"

  validation {
    # A StatefulSet labels its pods with controller-revision-hash=<name>-<10 characters>, a label value of at most
    # 63 characters; the headless Service <name>-replicas must also fit in a DNS label.
    condition     = can(regex("^[a-z]([-a-z0-9]*[a-z0-9])?$", var.name)) && length(var.name) <= 52
    error_message = "name must be a DNS label (lowercase letters, digits, '-', starting with a letter) of at most 52 characters: the StatefulSet's revision label <name>-<hash> and the Service <name>-replicas must fit in 63."
  }
}

variable "namespace" {
  description = "Namespace the gateway runs in. It is also the namespace of the gateway's SPIFFE ID and the gateway's authorization root namespace (a policy there applies to every namespace)."
  type        = string
  default     = "isthmus-system"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.namespace)) && length(var.namespace) <= 63
    error_message = "namespace must be a DNS label: at most 63 lowercase letters, digits and '-'."
  }
}

variable "create_namespace" {
  description = "Create the namespace (labelled for the Pod Security 'restricted' level). False: it must exist already, e.g. made by the platform team; label it pod-security.kubernetes.io/enforce=restricted yourself."
  type        = bool
  default     = true
}

variable "cluster_domain" {
  description = "DNS domain of the Kubernetes cluster (kubelet --cluster-domain); the replicas find each other through the headless Service's fully qualified name under it."
  type        = string
  default     = "cluster.local"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", var.cluster_domain))
    error_message = "cluster_domain must be a DNS name such as cluster.local."
  }
}

variable "image" {
  description = "Container image of the federation gateway, pinned: repository@sha256:<digest> (best: what runs is what was reviewed), or repository:tag. ':latest' and untagged images are refused."
  type        = string

  validation {
    condition = can(regex("@sha256:[0-9a-f]{64}$", var.image)) || (
      can(regex(":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image)) && !endswith(var.image, ":latest")
    )
    error_message = "image must be pinned: repository@sha256:<64 hex digits>, or repository:<tag> with a tag other than 'latest'."
  }
}

variable "image_pull_policy" {
  description = "imagePullPolicy of the gateway container."
  type        = string
  default     = "IfNotPresent"

  validation {
    condition     = contains(["IfNotPresent", "Always", "Never"], var.image_pull_policy)
    error_message = "image_pull_policy must be IfNotPresent, Always or Never."
  }
}

variable "image_pull_secrets" {
  description = "Names of Secrets (type kubernetes.io/dockerconfigjson, in the gateway's namespace) to pull the image with, e.g. for Harbor or a cross-account ECR."
  type        = list(string)
  default     = []
}

variable "replicas" {
  description = "Gateway replicas; they form one local Infinispan cluster. At least 2 for availability (a lone replica that restarts is an outage)."
  type        = number
  default     = 2

  validation {
    condition     = var.replicas >= 1 && floor(var.replicas) == var.replicas
    error_message = "replicas must be a whole number, at least 1."
  }
}

variable "cluster_name" {
  description = "Short name of this cluster, used in registry keys and as its Infinispan site name, e.g. aws-east."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.cluster_name)) && length(var.cluster_name) <= 63
    error_message = "cluster_name must be a DNS label: at most 63 lowercase letters, digits and '-'."
  }
}

variable "trust_domain" {
  description = "This cluster's SPIFFE trust domain, e.g. aws-east.acme.internal (lowercase letters, digits, '.', '-', '_')."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9._-]+$", var.trust_domain)) && length(var.trust_domain) <= 255
    error_message = "trust_domain may contain only lowercase letters, digits, '.', '-' and '_' (SPIFFE ID spec)."
  }
}

variable "root_certificate_pem" {
  description = "The federation root certificate(s), PEM. Two concatenated while the root rotates. Public: only certificates, never a key."
  type        = string

  validation {
    condition     = strcontains(var.root_certificate_pem, "-----BEGIN CERTIFICATE-----") && !strcontains(var.root_certificate_pem, "PRIVATE KEY")
    error_message = "root_certificate_pem must be PEM certificates (-----BEGIN CERTIFICATE-----) and must not contain a private key."
  }
}

variable "intermediate_secret" {
  description = "An existing Secret in the gateway's namespace that holds this cluster's intermediate CA (made outside Terraform: kubectl, external-secrets, cert-manager, Vault): the key never enters Terraform's plan or state. Its keys default to those of a kubernetes.io/tls Secret. Set this, or intermediate_certificate_pem and intermediate_private_key_pem, not both."
  type = object({
    name            = string
    certificate_key = optional(string, "tls.crt")
    private_key_key = optional(string, "tls.key")
  })
  default = null

  validation {
    condition = length([for given in [
      var.intermediate_secret != null,
      var.intermediate_certificate_pem != null && var.intermediate_private_key_pem != null,
      length(var.intermediate_generations) > 0,
    ] : given if given]) == 1
    error_message = "Give the intermediate CA one way: intermediate_secret (an existing Secret; the key stays out of Terraform), or both intermediate_certificate_pem and intermediate_private_key_pem, or intermediate_generations (to rotate it with Terraform); exactly one of them."
  }

  validation {
    condition     = var.intermediate_secret == null || can(regex("^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$", var.intermediate_secret.name))
    error_message = "intermediate_secret.name must be a Kubernetes object name (lowercase letters, digits, '-', '.')."
  }
}

variable "intermediate_certificate_pem" {
  description = "This cluster's intermediate CA certificate, PEM, signed by the root and name-constrained to trust_domain (make it with `bin/isthmus ca issue-intermediate`). Only with intermediate_private_key_pem; prefer intermediate_secret."
  type        = string
  default     = null

  validation {
    condition     = var.intermediate_certificate_pem == null || strcontains(coalesce(var.intermediate_certificate_pem, "-"), "-----BEGIN CERTIFICATE-----")
    error_message = "intermediate_certificate_pem must be a PEM certificate (-----BEGIN CERTIFICATE-----)."
  }
}

variable "intermediate_private_key_pem" {
  description = "The intermediate CA's private key, PEM. It ends up in Terraform's state (encrypt and restrict it) and in the gateway's Secret; prefer intermediate_secret, which keeps it out of Terraform."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.intermediate_private_key_pem == null || strcontains(coalesce(var.intermediate_private_key_pem, "-"), "PRIVATE KEY-----")
    error_message = "intermediate_private_key_pem must be a PEM private key."
  }
}

variable "intermediate_generations" {
  description = "This cluster's intermediate CA by generation, to rotate it with Terraform: per generation (a name you choose, e.g. the month it was issued) its certificate (PEM, the intermediate first, as `bin/isthmus ca issue-intermediate` writes it) and its private key. Only the active generation (active_intermediate_generation) is in the gateway's CA Secret; switching it changes that Secret's content and nothing else, so no pod restarts: the running gateway publishes the new intermediate next to the old one, activates it once every peer holds it and retires the old one (README: Rotating the intermediate). At most two generations: the active one and the next (before the switch) or the previous (after it). The keys pass through Terraform's state, as with intermediate_private_key_pem."
  type = map(object({
    certificate_pem = string
    private_key_pem = string
  }))
  default   = {}
  sensitive = true

  validation {
    condition     = length(var.intermediate_generations) <= 2
    error_message = "intermediate_generations holds ${length(var.intermediate_generations)} generations (${join(", ", nonsensitive(sort(keys(var.intermediate_generations))))}); at most two at a time: the active one and the next before the switch, or the previous after it. Drop the previous generation once `isthmus rotate status` shows its rotation retired, then add the next."
  }

  validation {
    condition     = alltrue(nonsensitive([for g in values(var.intermediate_generations) : can(regex("-----BEGIN CERTIFICATE-----", g.certificate_pem)) && !strcontains(g.certificate_pem, "PRIVATE KEY") && strcontains(g.private_key_pem, "PRIVATE KEY-----")]))
    error_message = "Each generation of intermediate_generations needs certificate_pem, PEM certificates (-----BEGIN CERTIFICATE-----, no key), and private_key_pem, a PEM private key."
  }

  validation {
    # A new generation is a new key and a new certificate: re-listing the active one under another name would
    # "switch" to the CA already signing, and reusing its key would carry a compromise over into the next generation.
    condition     = length(distinct(nonsensitive([for g in values(var.intermediate_generations) : trimspace(g.certificate_pem)]))) == length(var.intermediate_generations) && length(distinct(nonsensitive([for g in values(var.intermediate_generations) : trimspace(g.private_key_pem)]))) == length(var.intermediate_generations)
    error_message = "Two generations of intermediate_generations (${join(", ", nonsensitive(sort(keys(var.intermediate_generations))))}) hold the same certificate or the same key: each generation is a new intermediate with a new key (make the key where it will be used, sign its CSR with `bin/isthmus ca issue-intermediate`)."
  }

  validation {
    # Terraform cannot parse X.509, but it can find the name constraint's bytes: this trust domain's intermediate
    # carries it as a URI GeneralName, DER <0x86> <length> <trust domain>. They are looked for in the certificate's
    # base64 at each of the three positions base64 can put the length byte in its 3-byte group; where the tag shares
    # that group, a stand-in with the tag's low bits ("B": ..10, "F": ..0110) fills in for it and the characters that
    # depend on the unknown bits are skipped. So an intermediate of another trust domain, or of a longer name ending
    # in this one, is refused at plan time. The gateway checks the chain itself anyway (wrong-trust-domain).
    condition = alltrue(nonsensitive([for g in values(var.intermediate_generations) : anytrue([for k in [0, 1, 2] :
      strcontains(
        replace(regex("-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----", g.certificate_pem)[0], "/\\s/", ""),
        substr(base64encode("${["", "B", "AF"][k]}${jsondecode(format("\"\\u%04x\"", length(var.trust_domain)))}${var.trust_domain}"),
        k, 4 * floor((k + 1 + length(var.trust_domain)) / 3) - k)
      )
    ]) if can(regex("-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----", g.certificate_pem))]))
    error_message = "An intermediate in intermediate_generations (${join(", ", nonsensitive(sort(keys(var.intermediate_generations))))}) has no URI name constraint for ${var.trust_domain}: it is another trust domain's intermediate (the gateway would refuse it: wrong-trust-domain). Issue this cluster's with `bin/isthmus ca issue-intermediate --trust-domain ${var.trust_domain}`."
  }
}

variable "active_intermediate_generation" {
  description = "The generation of intermediate_generations the gateway's CA Secret holds: the intermediate the gateway signs with once its rotation is activated. Switch it to a generation added in an earlier apply; keep the old generation until `isthmus rotate status` shows the rotation retired."
  type        = string
  default     = null

  validation {
    condition     = var.active_intermediate_generation == null || length(var.intermediate_generations) > 0
    error_message = "active_intermediate_generation is set (\"${coalesce(var.active_intermediate_generation, "-")}\") but intermediate_generations is empty: it names one of intermediate_generations."
  }

  validation {
    condition     = length(var.intermediate_generations) == 0 || var.active_intermediate_generation != null
    error_message = "intermediate_generations is set but active_intermediate_generation is not: name the generation the gateway signs with, one of ${join(", ", nonsensitive(sort(keys(var.intermediate_generations))))}."
  }

  validation {
    condition     = var.active_intermediate_generation == null || length(var.intermediate_generations) == 0 || nonsensitive(contains(keys(var.intermediate_generations), coalesce(var.active_intermediate_generation, "-")))
    error_message = "active_intermediate_generation \"${coalesce(var.active_intermediate_generation, "-")}\" is not one of intermediate_generations (${join(", ", nonsensitive(sort(keys(var.intermediate_generations))))}): add a generation (its certificate and key) before switching to it, and keep the active one until the switch."
  }
}

variable "peers" {
  description = "Federated peers by name (the name is also the peer's registry site): each peer's trust domain, SPIFFE bundle endpoint URL (https://host:8443/), optionally the exact SPIFFE ID its endpoint must present, the host:port addresses of its cross-site registry bridge (its public address, port 7900; one address per cluster is enough, its gateway relays to its site master), and optionally the SPIFFE IDs of its gateways: the only identities of its trust domain whose vouching for a caller this gateway's ingress accepts (default spiffe://<trust domain>/ns/isthmus-system/sa/isthmus-gateway)."
  type = map(object({
    trust_domain         = string
    bundle_endpoint_url  = string
    endpoint_spiffe_id   = optional(string)
    cross_site_addresses = optional(list(string), [])
    gateway_ids          = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for n, _ in var.peers : can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", n)) && length(n) <= 63])
    error_message = "Every peer name must be a DNS label (lowercase letters, digits, '-'): it is the peer's registry site name."
  }

  validation {
    condition     = !contains(keys(var.peers), var.cluster_name)
    error_message = "peers must not contain this cluster itself (a peer named like cluster_name): peers are the other clusters."
  }

  validation {
    condition = alltrue([for p in values(var.peers) :
    can(regex("^[a-z0-9._-]+$", p.trust_domain)) && p.trust_domain != var.trust_domain])
    error_message = "Every peer's trust_domain must be a SPIFFE trust domain (lowercase letters, digits, '.', '-', '_') other than this cluster's own trust_domain."
  }

  validation {
    condition     = length(distinct([for p in values(var.peers) : p.trust_domain])) == length(var.peers)
    error_message = "Two peers have the same trust_domain; each cluster is its own trust domain."
  }

  validation {
    condition     = alltrue([for p in values(var.peers) : can(regex("^https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[^\\s]*)?$", p.bundle_endpoint_url))])
    error_message = "Every peer's bundle_endpoint_url must be an https:// URL (https://host[:port]/...): the SPIFFE bundle endpoint profile https_spiffe."
  }

  validation {
    condition = alltrue([for p in values(var.peers) :
    p.endpoint_spiffe_id == null || startswith(coalesce(p.endpoint_spiffe_id, "-"), "spiffe://${p.trust_domain}/")])
    error_message = "A peer's endpoint_spiffe_id must be a SPIFFE ID of that peer's trust domain: spiffe://<its trust_domain>/..."
  }

  validation {
    condition = alltrue(flatten([for p in values(var.peers) : [for a in p.cross_site_addresses :
      can(regex("^[A-Za-z0-9.-]+:[0-9]{1,5}$", a)) && try(tonumber(split(":", a)[1]) >= 1 && tonumber(split(":", a)[1]) <= 65535, false)
    ]]))
    error_message = "Every cross_site_addresses entry must be host:port with a port in 1-65535, e.g. gw.gcp-west.example:7900."
  }

  validation {
    condition = alltrue(flatten([for p in values(var.peers) : [for id in p.gateway_ids :
      startswith(id, "spiffe://${p.trust_domain}/")
    ]]))
    error_message = "A peer's gateway_ids must be SPIFFE IDs of that peer's trust domain (spiffe://<its trust_domain>/...): a gateway vouches only for its own trust domain."
  }
}

variable "ports" {
  description = "Gateway ports: east-west ingress (public, mTLS), egress (cluster-internal), admin/enrolment API (TLS), SPIFFE bundle endpoint (public), management (health, metrics; cluster-internal), Infinispan cross-site bridge (public, TLS; every replica relays it to the site master), the site master's own bridge behind that relay (pod to pod), local Infinispan cluster of the replicas (pod to pod, TLS). The same on every replica."
  type = object({
    ingress           = optional(number, 15443)
    egress            = optional(number, 15001)
    admin             = optional(number, 15012)
    bundle_endpoint   = optional(number, 8443)
    management        = optional(number, 8080)
    cross_site        = optional(number, 7900)
    cross_site_master = optional(number, 7901)
    local_cluster     = optional(number, 7800)
  })
  default = {}

  validation {
    # The container runs as a non-root user with every capability dropped, so it cannot bind below 1024.
    condition     = alltrue([for p in values(var.ports) : p == null || (p >= 1024 && p <= 65535 && floor(coalesce(p, 0)) == p)])
    error_message = "Every port must be a whole number in 1024-65535: the gateway runs as non-root with all capabilities dropped and cannot bind a port below 1024."
  }

  validation {
    condition     = length(distinct([for p in values(var.ports) : p if p != null])) == length([for p in values(var.ports) : p if p != null])
    error_message = "The ports must all differ: each is its own listener on the same pod address."
  }
}

variable "locality" {
  description = "Region and zone of this cluster, for locality-aware routing (empty when unknown)."
  type = object({
    region = optional(string, "")
    zone   = optional(string, "")
  })
  default = {}
}

variable "bundle_refresh_hint" {
  description = "spiffe_refresh_hint this gateway publishes (how often peers poll it): a whole number with a unit, ms, s, m, h or d, e.g. 5m. Peers poll at least every 1s and at most every 1h."
  type        = string
  default     = "5m"

  validation {
    condition     = can(regex("^[1-9][0-9]*(ms|s|m|h|d)$", var.bundle_refresh_hint))
    error_message = "bundle_refresh_hint must be a positive whole number followed by ms, s, m, h or d, e.g. 5m."
  }
}

variable "svid_ttl" {
  description = "Lifetime of SVIDs the gateway issues, renewed at half life: a whole number with a unit (s, m, h, d), e.g. 1h."
  type        = string
  default     = "1h"

  validation {
    condition     = can(regex("^[1-9][0-9]*(s|m|h|d)$", var.svid_ttl))
    error_message = "svid_ttl must be a positive whole number followed by s, m, h or d, e.g. 1h."
  }
}

variable "token_review_audiences" {
  description = "Audiences a local caller's service-account token must be issued for (TokenReview spec.audiences). Workloads project a token for one of them (serviceAccountToken volume, audience 'isthmus'); a token meant for the API server or another service is then refused here, so it cannot be replayed."
  type        = list(string)
  default     = ["isthmus"]

  validation {
    condition     = length(var.token_review_audiences) > 0 && alltrue([for a in var.token_review_audiences : length(trimspace(a)) > 0 && !strcontains(a, ",")])
    error_message = "token_review_audiences must name at least one audience; audiences are non-empty and contain no ','."
  }
}

variable "extra_config" {
  description = "Additional gateway configuration properties (key = value), merged over the module's own."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.extra_config) : can(regex("^(isthmus|quarkus)\\.[A-Za-z0-9.\"_*-]+$", k))])
    error_message = "extra_config keys must be gateway properties: isthmus.* or quarkus.* (letters, digits, '.', '-', '_', quotes)."
  }
}

variable "public_address" {
  description = "Host name or IP under which other clusters reach this cluster's public load balancer: advertised in the registry as this cluster's ingress and to the peer sites as its cross-site bridge. Use a stable name (external-dns) or a reserved IP: peers configure it, and a recreated load balancer must keep it."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$", var.public_address))
    error_message = "public_address must be the DNS name or IPv4 address of this cluster's public load balancer (without port or scheme). Without it peers would be given pod addresses, which they cannot reach from another network."
  }
}

variable "load_balancer" {
  description = "The public LoadBalancer Service (east-west ingress, bundle endpoint, cross-site bridge): cloud annotations, loadBalancerClass (e.g. service.k8s.aws/nlb), a requested IP (GKE, MetalLB), the source CIDRs allowed (the peer clusters' egress NAT addresses), externalTrafficPolicy, and whether to annotate public_address for external-dns."
  type = object({
    annotations             = optional(map(string), {})
    class                   = optional(string)
    ip                      = optional(string)
    source_ranges           = optional(list(string), [])
    external_traffic_policy = optional(string, "Local")
    external_dns            = optional(bool, true)
  })
  default = {}

  validation {
    condition     = contains(["Local", "Cluster"], var.load_balancer.external_traffic_policy)
    error_message = "load_balancer.external_traffic_policy must be Local (keeps the client address, only nodes with a gateway pod receive traffic) or Cluster."
  }

  validation {
    condition     = alltrue([for r in var.load_balancer.source_ranges : can(cidrhost(r, 0))])
    error_message = "load_balancer.source_ranges must be CIDRs, e.g. 203.0.113.0/24."
  }
}

variable "admin_access" {
  description = "How the admin/enrolment API port is reached. Default: a ClusterIP Service only (in-cluster operators and tools). VMs outside the cluster enrol through it: then use an internal LoadBalancer (service_type LoadBalancer plus the cloud's internal annotation) restricted to the VM networks with source_ranges. The NetworkPolicy admits the port from source_ranges and from pods of the listed namespaces (empty: every namespace)."
  type = object({
    service_type  = optional(string, "ClusterIP")
    annotations   = optional(map(string), {})
    class         = optional(string)
    source_ranges = optional(list(string), [])
    namespaces    = optional(list(string), [])
  })
  default = {}

  validation {
    condition     = contains(["ClusterIP", "LoadBalancer"], var.admin_access.service_type)
    error_message = "admin_access.service_type must be ClusterIP (in-cluster only) or LoadBalancer (internal, restricted with source_ranges)."
  }

  validation {
    condition     = alltrue([for r in var.admin_access.source_ranges : can(cidrhost(r, 0))])
    error_message = "admin_access.source_ranges must be CIDRs, e.g. 10.20.0.0/16."
  }
}

variable "network_policy" {
  description = "A NetworkPolicy for the gateway pods: the public ports (ingress, bundle, cross-site) from anywhere (restrict those at the load balancer), egress from pods of egress_namespaces (empty: every namespace), admin as admin_access says, management (health, metrics) only from management_namespaces, and the replicas' own ports only from the other replicas."
  type = object({
    enabled               = optional(bool, true)
    egress_namespaces     = optional(list(string), [])
    management_namespaces = optional(list(string), [])
  })
  default = {}
}

variable "resources" {
  description = "Container resource requests and limits. No CPU limit on purpose (throttling a proxy adds latency); the JVM heap follows the memory limit (jvm_max_ram_percentage)."
  type = object({
    requests = optional(map(string), { cpu = "500m", memory = "768Mi", "ephemeral-storage" = "256Mi" })
    limits   = optional(map(string), { memory = "1536Mi", "ephemeral-storage" = "1Gi" })
  })
  default = {}
}

variable "jvm_max_ram_percentage" {
  description = "Share of the container's memory limit the JVM heap may take (-XX:MaxRAMPercentage); the rest is metaspace, thread stacks, Netty's direct buffers and TLS."
  type        = number
  default     = 70

  validation {
    condition     = var.jvm_max_ram_percentage >= 25 && var.jvm_max_ram_percentage <= 85
    error_message = "jvm_max_ram_percentage must be 25-85: above that the JVM's native memory (Netty buffers, TLS) pushes the pod past its limit."
  }
}

variable "persistence" {
  description = "The data directory (peer bundles, this cluster's bundle sequence, enrolment tokens, revocations and VM identities): a PersistentVolumeClaim per replica (a StatefulSet volumeClaimTemplate), so a restart keeps them. Disabled: an emptyDir of size_limit (tests only: a restarted replica forgets revocations)."
  type = object({
    enabled       = optional(bool, true)
    size          = optional(string, "1Gi")
    storage_class = optional(string)
  })
  default = {}
}

variable "scheduling" {
  description = "Where the replicas run: spread over nodes (anti_affinity 'required': never two on one node; 'preferred') and preferably over zones; node_selector, tolerations and topology_spread_constraints as Kubernetes writes them; priority_class_name."
  type = object({
    anti_affinity               = optional(string, "required")
    node_selector               = optional(map(string), {})
    tolerations                 = optional(any, [])
    topology_spread_constraints = optional(any, [])
    priority_class_name         = optional(string)
  })
  default = {}

  validation {
    condition     = contains(["required", "preferred"], var.scheduling.anti_affinity)
    error_message = "scheduling.anti_affinity must be required (two replicas never share a node) or preferred."
  }
}

variable "drain" {
  description = "Graceful stop: for delay_seconds the stopping gateway reports not ready but keeps serving (the load balancer deregisters it meanwhile), then it has timeout_seconds to finish requests in flight. terminationGracePeriodSeconds covers both."
  type = object({
    delay_seconds   = optional(number, 15)
    timeout_seconds = optional(number, 30)
  })
  default = {}

  validation {
    condition     = var.drain.delay_seconds >= 0 && var.drain.timeout_seconds >= 1
    error_message = "drain.delay_seconds must be >= 0 and drain.timeout_seconds >= 1."
  }
}

variable "install_crds" {
  description = "Which CRDs this module installs: the Kubernetes MCS API's ServiceExport/ServiceImport (leave false where another MCS implementation, e.g. Submariner, Cilium or the AWS Cloud Map controller, already installed them) and Isthmus' AuthorizationPolicy. Installed CRDs are protected from terraform destroy (which would delete every object of their kind)."
  type = object({
    mcs   = optional(bool, true)
    authz = optional(bool, true)
  })
  default = {}
}

variable "admin_token" {
  description = "Bootstrap admin token for the admin API (join tokens for VM enrolment, identity revocation), at least 32 characters; stored in a Secret and read by the gateway on each admin call (so a change needs no restart). Null: admin only by mutual TLS with an admin SVID (admin_spiffe_ids)."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.admin_token == null || length(trimspace(coalesce(var.admin_token, "-"))) >= 32
    error_message = "admin_token must be at least 32 characters (the gateway refuses shorter ones on every call), e.g. from `openssl rand -hex 32`."
  }
}

variable "admin_spiffe_ids" {
  description = "SPIFFE IDs allowed to use the admin API by mutual TLS."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.admin_spiffe_ids : can(regex("^spiffe://[a-z0-9._-]+/.+$", id))])
    error_message = "admin_spiffe_ids must be SPIFFE IDs: spiffe://<trust domain>/<path>."
  }
}
