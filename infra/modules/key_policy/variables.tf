variable "break_glass_principal_arns" {
  description = "The only principals of the key's account that may disable the key or schedule its deletion (empty: nobody, the root user included)."
  type        = list(string)
  default     = []
}
