variable "name" {
  description = "Name of the gateway's Kubernetes objects (Deployment, Services, ServiceAccount, ...)."
  type        = string
  default     = "isthmus-gateway"
}

variable "namespace" {
  description = "Namespace the gateway runs in; it is also the namespace of the gateway's SPIFFE ID."
  type        = string
  default     = "isthmus-system"
}

variable "cluster_domain" {
  description = "DNS domain of the Kubernetes cluster (kubelet --cluster-domain); the replicas find each other through the headless Service's fully qualified name under it."
  type        = string
  default     = "cluster.local"
}

variable "image" {
  description = "Container image of the federation gateway (the federation-gateway Quarkus app)."
  type        = string
}

variable "replicas" {
  description = "Gateway replicas; they form one local Infinispan cluster. At least 2 for availability."
  type        = number
  default     = 2

  validation {
    condition     = var.replicas >= 1
    error_message = "replicas must be at least 1."
  }
}

variable "cluster_name" {
  description = "Short name of this cluster, used in registry keys and as its Infinispan site name, e.g. aws-east."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.cluster_name))
    error_message = "cluster_name must be a DNS label: lowercase letters, digits and '-'."
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
  description = "The federation root certificate(s), PEM. Two concatenated while the root rotates."
  type        = string
}

variable "intermediate_certificate_pem" {
  description = "This cluster's intermediate CA certificate, PEM, signed by the root and name-constrained to trust_domain (make it with `bin/isthmus ca issue-intermediate`)."
  type        = string
}

variable "intermediate_private_key_pem" {
  description = "The intermediate CA's private key, PEM. Stored only in the gateway's Secret."
  type        = string
  sensitive   = true
}

variable "peers" {
  description = "Federated peers by name (the name is also the peer's registry site): each peer's trust domain, SPIFFE bundle endpoint URL (https://host:8443/), optionally the exact SPIFFE ID its endpoint must present, the host:port addresses of its cross-site registry bridge (its public Service, port 7900), and optionally the SPIFFE IDs of its gateways: the only identities of its trust domain whose vouching for a caller this gateway's ingress accepts (default spiffe://<trust domain>/ns/isthmus-system/sa/isthmus-gateway)."
  type = map(object({
    trust_domain         = string
    bundle_endpoint_url  = string
    endpoint_spiffe_id   = optional(string)
    cross_site_addresses = optional(list(string), [])
    gateway_ids          = optional(list(string), [])
  }))
  default = {}
}

variable "ports" {
  description = "Gateway ports: east-west ingress (public, mTLS), egress (cluster-internal), admin/enrolment API (TLS), SPIFFE bundle endpoint (public), management (health, metrics; cluster-internal), Infinispan cross-site bridge (public, TLS), local Infinispan cluster of the replicas (pod to pod, TLS; the same on every replica, since DNS discovery dials each pod at it)."
  type = object({
    ingress         = optional(number, 15443)
    egress          = optional(number, 15001)
    admin           = optional(number, 15012)
    bundle_endpoint = optional(number, 8443)
    management      = optional(number, 8080)
    cross_site      = optional(number, 7900)
    local_cluster   = optional(number, 7800)
  })
  default = {}
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
  description = "spiffe_refresh_hint this gateway publishes (how often peers poll it), as a Quarkus duration, e.g. 5m."
  type        = string
  default     = "5m"
}

variable "svid_ttl" {
  description = "Lifetime of SVIDs the gateway issues, renewed at half life, e.g. 1h."
  type        = string
  default     = "1h"
}

variable "extra_config" {
  description = "Additional gateway configuration properties (key = value), merged over the module's own."
  type        = map(string)
  default     = {}
}

variable "load_balancer_annotations" {
  description = "Annotations of the public LoadBalancer Service (cloud-specific: internal/external, NLB, ...)."
  type        = map(string)
  default     = {}
}

variable "resources" {
  description = "Container resource requests and limits."
  type = object({
    requests = optional(map(string), { cpu = "500m", memory = "768Mi" })
    limits   = optional(map(string), { memory = "1536Mi" })
  })
  default = {}
}

variable "public_address" {
  description = "Host name or IP under which other clusters reach this gateway's public Service (the LoadBalancer's address); advertised in the registry as this cluster's ingress. Empty: the registry advertises the pod address (single-network setups only)."
  type        = string
  default     = ""
}

variable "admin_token" {
  description = "Bootstrap admin token for the admin API on the admin port (join tokens for VM enrolment, identity revocation); stored in a Secret and mounted as a file. Null: admin only by mutual TLS with an admin SVID (admin_spiffe_ids)."
  type        = string
  default     = null
  sensitive   = true
}

variable "admin_spiffe_ids" {
  description = "SPIFFE IDs allowed to use the admin API by mutual TLS."
  type        = list(string)
  default     = []
}
