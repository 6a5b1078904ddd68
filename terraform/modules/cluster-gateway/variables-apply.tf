# Inputs of applying (not of the objects themselves); the objects' inputs are in variables.tf (shared with ./manifests).

variable "wait_for_rollout" {
  description = "Wait in terraform apply until the StatefulSet's new pods are rolled out and ready, so a crash-looping gateway fails the apply instead of passing it."
  type        = bool
  default     = true
}

variable "rollout_timeout" {
  description = "How long terraform apply waits for the rollout (wait_for_rollout), e.g. 10m."
  type        = string
  default     = "10m"
}
