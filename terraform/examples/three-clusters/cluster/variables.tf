variable "cluster_name" {
  description = "Which cluster of ../federation this is."
  type        = string
}

variable "image" {
  description = "Federation gateway image, pinned by digest (repository@sha256:...)."
  type        = string
}

variable "root_certificate_pem" {
  description = "The federation root certificate (fed/root.pem from `bin/isthmus ca init-root`, made offline)."
  type        = string
}

variable "intermediate_secret_name" {
  description = "The Secret (type kubernetes.io/tls, in isthmus-system) that holds this cluster's intermediate CA."
  type        = string
  default     = "isthmus-intermediate"
}

variable "admin_access" {
  description = "How the admin/enrolment API is reached (see the cluster-gateway module); default: in-cluster only."
  type        = any
  default     = {}
}

variable "admin_spiffe_ids" {
  description = "SPIFFE IDs allowed to use the admin API by mutual TLS."
  type        = list(string)
  default     = []
}
