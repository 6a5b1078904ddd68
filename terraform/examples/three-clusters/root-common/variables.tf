# The inputs of each cluster's root configuration (../aws-east, ../gcp-west, ../onprem link their variables.tf here).
# Set them in that directory's terraform.tfvars.

variable "kubeconfig" {
  description = "Path of the kubeconfig with a context for this cluster."
  type        = string
  default     = "~/.kube/config"
}

variable "kube_context" {
  description = "The kubeconfig context of this cluster."
  type        = string
}

variable "image" {
  description = "Federation gateway image, pinned by digest (repository@sha256:...)."
  type        = string
}

variable "root_certificate_file" {
  description = "The federation root certificate (public), e.g. ../fed/root.pem."
  type        = string
  default     = "../fed/root.pem"
}
