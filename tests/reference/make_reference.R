#!/usr/bin/env Rscript
# Reference values from R `survival` for the Python statistics layer.
#
#   Rscript tests/reference/make_reference.R
#
# writes tests/reference/survival_reference.json (the Python tests read only
# the JSON, so they run without R).  jsonlite is not required: JSON is written
# by hand with sprintf("%.17g"); NA/NaN -> NaN, Inf -> Infinity (both accepted
# by Python's json module).
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
out_file <- file.path(here, "survival_reference.json")

# ---------------------------------------------------------------- JSON writer
num_json <- function(x) {
  x <- as.numeric(x)
  v <- sprintf("%.17g", x)
  v[is.na(x)] <- "NaN"
  v[!is.na(x) & x == Inf] <- "Infinity"
  v[!is.na(x) & x == -Inf] <- "-Infinity"
  v
}
to_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    items <- vapply(x, to_json, "")
    nm <- names(x)
    if (!is.null(nm))
      return(paste0("{", paste0("\"", nm, "\": ", items, collapse = ", "), "}"))
    return(paste0("[", paste(items, collapse = ", "), "]"))
  }
  if (is.factor(x)) x <- as.character(x)
  if (is.character(x)) {
    v <- paste0("\"", gsub("\"", "\\\\\"", x), "\"")
    v[is.na(x)] <- "null"
  } else if (is.logical(x)) {
    v <- ifelse(is.na(x), "null", ifelse(x, "true", "false"))
  } else {
    v <- num_json(x)
  }
  if (length(x) == 1 && is.null(attr(x, "force_array"))) v
  else paste0("[", paste(v, collapse = ", "), "]")
}
arr <- function(x) { attr(x, "force_array") <- TRUE; x }   # keep length-1 vectors as arrays
un <- function(x) unname(x)

# ---------------------------------------------------------------- data
lung2 <- data.frame(time = lung$time, status = as.integer(lung$status == 2),
                    age = lung$age, sex = lung$sex, ph_ecog = lung$ph.ecog)
lung_m <- lung2
lung_m$time <- round(lung2$time / 30.4375)          # months, heavy ties

conf_types <- c("log", "log-log", "plain")
probs <- c(0.25, 0.5, 0.75)

km_case <- function(d, times, rmean_tau) {
  res <- list()
  for (ct in conf_types) {
    f <- survfit(Surv(time, status) ~ 1, data = d, conf.type = ct)
    q <- quantile(f, probs = probs, conf.int = TRUE)
    s <- summary(f, times = times)
    res[[ct]] <- list(
      quantile = list(probs = arr(probs), quantile = arr(un(q$quantile)),
                      lower = arr(un(q$lower)), upper = arr(un(q$upper))),
      summary_times = list(time = arr(s$time), surv = arr(s$surv),
                           lower = arr(s$lower), upper = arr(s$upper),
                           n_risk = arr(s$n.risk), std_err = arr(s$std.err)))
  }
  f <- survfit(Surv(time, status) ~ 1, data = d, conf.type = "log-log")
  tab <- list(time = arr(f$time), n_risk = arr(f$n.risk), n_event = arr(f$n.event),
              n_censor = arr(f$n.censor), surv = arr(f$surv),
              std_err_S = arr(f$surv * f$std.err), lower = arr(f$lower),
              upper = arr(f$upper))
  rm <- summary(f, rmean = rmean_tau)$table
  rev_fit <- survfit(Surv(time, 1 - status) ~ 1, data = d, conf.type = "log-log")
  rq <- quantile(rev_fit, 0.5, conf.int = TRUE)
  rev_fit_log <- survfit(Surv(time, 1 - status) ~ 1, data = d, conf.type = "log")
  rql <- quantile(rev_fit_log, 0.5, conf.int = TRUE)
  list(table_loglog = tab, by_conf_type = res,
       rmean = list(tau = rmean_tau, rmean = un(rm["rmean"]), se = un(rm["se(rmean)"])),
       reverse_km_median = list(
         `log-log` = list(median = un(rq$quantile), lower = un(rq$lower), upper = un(rq$upper)),
         log = list(median = un(rql$quantile), lower = un(rql$lower), upper = un(rql$upper))),
       times = arr(times))
}

ref <- list()
ref$meta <- list(r_version = R.version.string,
                 survival_version = as.character(packageVersion("survival")),
                 generated = format(Sys.time(), "%Y-%m-%d"),
                 script = "tests/reference/make_reference.R")
ref$data <- list(
  lung = list(time = lung2$time, status = lung2$status, age = lung2$age,
              sex = lung2$sex, ph_ecog = lung2$ph_ecog),
  note = "lung from R survival; status recoded 2=dead -> 1; months = round(time/30.4375)")

ref$km <- list(
  lung = km_case(lung2, c(0, 180, 365, 500, 730, 1000), 730),
  lung_months = km_case(lung_m, c(0, 6, 12, 18, 24, 30), 24),
  lung_sex1 = km_case(subset(lung2, sex == 1), c(180, 365, 730), 730),
  lung_sex2 = km_case(subset(lung2, sex == 2), c(180, 365, 730), 730),
  lung_months_sex2 = km_case(subset(lung_m, sex == 2), c(6, 12, 24), 24)
)

# ---------------------------------------------------------------- edge cases
edge <- list(
  all_censored = data.frame(time = c(2, 4, 6, 8), status = c(0, 0, 0, 0)),
  no_censoring = data.frame(time = c(1, 2, 2, 3, 5, 8), status = c(1, 1, 1, 1, 1, 1)),
  single_patient = data.frame(time = 5, status = 1),
  plateau_half = data.frame(time = c(1, 2, 3, 4, 5, 6), status = c(1, 1, 1, 0, 1, 1)),
  plateau_exact = data.frame(time = c(1, 2, 3, 4), status = c(1, 1, 1, 1)),
  upper_not_reached = data.frame(time = c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
                                 status = c(1, 1, 1, 1, 1, 1, 0, 0, 0, 0))
)
ref$edge <- list()
for (nm in names(edge)) {
  d <- edge[[nm]]
  e <- list(time = arr(d$time), status = arr(d$status))
  for (ct in conf_types) {
    f <- survfit(Surv(time, status) ~ 1, data = d, conf.type = ct)
    q <- quantile(f, probs = 0.5, conf.int = TRUE)
    e[[ct]] <- list(median = un(q$quantile), lower = un(q$lower), upper = un(q$upper),
                    surv = arr(f$surv), lower_band = arr(f$lower), upper_band = arr(f$upper))
  }
  ref$edge[[nm]] <- e
}

# ---------------------------------------------------------------- log-rank
lr <- function(d, g) {
  s <- survdiff(as.formula(paste("Surv(time, status) ~", g)), data = d)
  list(chisq = s$chisq, df = length(s$n) - 1, p = pchisq(s$chisq, length(s$n) - 1, lower.tail = FALSE),
       n = arr(un(as.numeric(s$n))), observed = arr(un(s$obs)), expected = arr(un(s$exp)),
       var = un(lapply(seq_len(nrow(s$var)), function(i) arr(s$var[i, ]))),
       groups = arr(sub(".*=", "", names(s$n))))
}
trend <- function(d, g, scores) {
  s <- survdiff(as.formula(paste("Surv(time, status) ~", g)), data = d)
  U <- sum(scores * (s$obs - s$exp))
  V <- drop(t(scores) %*% s$var %*% scores)
  list(scores = arr(scores), U = U, V = V, chisq = U^2 / V,
       p = pchisq(U^2 / V, 1, lower.tail = FALSE))
}
lung_e <- subset(lung2, !is.na(ph_ecog))
lung_me <- subset(lung_m, !is.na(ph_ecog))
ref$logrank <- list(
  lung_sex = lr(lung2, "sex"),
  lung_months_sex = lr(lung_m, "sex"),
  lung_ecog = lr(lung_e, "ph_ecog"),
  lung_months_ecog = lr(lung_me, "ph_ecog")
)
# factor with an empty level: R survdiff drops it (no rows)
lung_empty <- lung_e
lung_empty$grp <- factor(lung_empty$ph_ecog, levels = c(0, 1, 2, 3, 4))
s_empty <- survdiff(Surv(time, status) ~ grp, data = lung_empty)
ref$logrank$lung_ecog_empty_level <- list(chisq = s_empty$chisq, n = arr(un(as.numeric(s_empty$n))),
                                          levels = arr(c("0", "1", "2", "3", "4")))
ref$trend <- list(
  lung_ecog = trend(lung_e, "ph_ecog", c(0, 1, 2, 3)),
  lung_months_ecog = trend(lung_me, "ph_ecog", c(0, 1, 2, 3))
)

# ---------------------------------------------------------------- Cox
cox_case <- function(formula, d, ties) {
  f <- coxph(formula, data = d, ties = ties, x = TRUE, y = TRUE, model = TRUE)
  s <- summary(f)
  ci <- s$conf.int
  z1 <- cox.zph(f, transform = "km")
  z2 <- cox.zph(f, transform = "identity")
  list(terms = arr(names(coef(f))), coef = arr(un(coef(f))),
       se = arr(un(sqrt(diag(f$var)))), hr = arr(un(exp(coef(f)))),
       lower = arr(un(ci[, "lower .95"])), upper = arr(un(ci[, "upper .95"])),
       z = arr(un(s$coefficients[, "z"])), p = arr(un(s$coefficients[, "Pr(>|z|)"])),
       loglik = arr(un(f$loglik)), lr_chisq = un(s$logtest["test"]),
       lr_df = un(s$logtest["df"]), lr_p = un(s$logtest["pvalue"]),
       n = f$n, events = f$nevent,
       zph_km = list(terms = arr(rownames(z1$table)), chisq = arr(un(z1$table[, "chisq"])),
                     df = arr(un(z1$table[, "df"])), p = arr(un(z1$table[, "p"]))),
       zph_identity = list(terms = arr(rownames(z2$table)), chisq = arr(un(z2$table[, "chisq"])),
                           df = arr(un(z2$table[, "df"])), p = arr(un(z2$table[, "p"]))))
}
fm <- Surv(time, status) ~ age + sex + ph_ecog
lung_f <- lung_e
lung_f$ecog_f <- relevel(factor(lung_f$ph_ecog), ref = "1")
lung_mf <- lung_me
lung_mf$ecog_f <- relevel(factor(lung_mf$ph_ecog), ref = "1")
fmf <- Surv(time, status) ~ age + ecog_f
ref$cox <- list(
  lung_breslow = cox_case(fm, lung2, "breslow"),
  lung_efron = cox_case(fm, lung2, "efron"),
  lung_months_breslow = cox_case(fm, lung_m, "breslow"),
  lung_months_efron = cox_case(fm, lung_m, "efron"),
  lung_factor_ref1_breslow = cox_case(fmf, lung_f, "breslow"),
  lung_months_factor_ref1_efron = cox_case(fmf, lung_mf, "efron")
)
ref$cox$lung_factor_ref1_breslow$reference <- "1"

# complete separation: every event in group 1, none in group 0
sep <- data.frame(time = c(1, 2, 3, 4, 5, 6, 7, 8), status = c(1, 1, 1, 1, 0, 0, 0, 0),
                  x = c(1, 1, 1, 1, 0, 0, 0, 0))
warn <- character(0)
fsep <- withCallingHandlers(coxph(Surv(time, status) ~ x, data = sep, ties = "breslow"),
                            warning = function(w) { warn <<- c(warn, conditionMessage(w)); invokeRestart("muffleWarning") })
ref$cox$separation <- list(time = arr(sep$time), status = arr(sep$status), x = arr(sep$x),
                           coef = arr(un(coef(fsep))), warning = arr(warn),
                           loglik = arr(un(fsep$loglik)))

writeLines(to_json(ref), out_file)
cat("wrote", out_file, "\n")
