#!/usr/bin/env python3
"""Writes tests/fixtures/optim.json: PyTorch 1.13 reference values for SGD, Adam, AdamW and the
learning-rate schedules, read by tests/test_sgd.cpp, test_adam.cpp and test_lr_scheduler.cpp.

SGD: two parameters, a (3, 4) weight and a (4) bias, take four steps with fixed gradients (a
different one each step, so momentum has history to act on) under every combination of
momentum 0 / 0.9, dampening 0 / 0.5 and weight decay 0 / 1e-2 without Nesterov, Nesterov with and
without weight decay, and two parameter groups with their own lr and weight decay. After every step
the parameters are stored, and at the end the momentum buffers.

Adam and AdamW: the same parameters and gradients, four steps, with and without weight decay,
with amsgrad (and other betas, a large eps that shows where eps sits), and in two groups (the
matrix decays, the vector has its own lr and no decay); after every step the parameters, at the
end each parameter's state (step, exp_avg, exp_avg_sq, max_exp_avg_sq).

Schedules: the lr of every group after construction and after each of 12 epochs; and resumes: a
schedule saved after some epochs (its state_dict as it was), loaded with the optimizer's state
into a fresh optimizer and a schedule built with other settings (a longer T_max), then stepped
on: the lr of every later epoch.
Run with /usr/bin/python3 (python3-torch); scripts/make_fixtures.sh runs every generator.
"""
import copy
import json
import os
import re

import torch

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "optim.json")
STEPS = 4
EPOCHS = 12


def tensor(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.detach().reshape(-1).tolist()]}


def sgd_case(params, grads, groups, options):
    """groups: a list of (indices of params, lr or None, weight_decay or None)."""
    params = [p.clone().requires_grad_(True) for p in params]
    torch_groups = []
    for indices, lr, wd in groups:
        g = {"params": [params[i] for i in indices]}
        if lr is not None:
            g["lr"] = lr
        if wd is not None:
            g["weight_decay"] = wd
        torch_groups.append(g)
    opt = torch.optim.SGD(torch_groups, **options)
    after = []
    for step in range(STEPS):
        for p, g in zip(params, grads[step]):
            p.grad = g.clone()
        opt.step()
        after.append([tensor(p) for p in params])
    buffers = [opt.state[p].get("momentum_buffer") for p in params]
    return {
        "options": options,
        "groups": [{"params": indices, "lr": lr, "weight_decay": wd} for indices, lr, wd in groups],
        "params_after_step": after,
        "momentum_buffers": [tensor(b) if b is not None else None for b in buffers],
    }


def adam_case(cls, params, grads, groups, options):
    """cls: torch.optim.Adam or AdamW; groups as in sgd_case."""
    params = [p.clone().requires_grad_(True) for p in params]
    torch_groups = []
    for indices, lr, wd in groups:
        g = {"params": [params[i] for i in indices]}
        if lr is not None:
            g["lr"] = lr
        if wd is not None:
            g["weight_decay"] = wd
        torch_groups.append(g)
    opt = cls(torch_groups, **options)
    after = []
    for step in range(STEPS):
        for p, g in zip(params, grads[step]):
            p.grad = g.clone()
        opt.step()
        after.append([tensor(p) for p in params])
    state = []
    for p in params:
        s = opt.state[p]
        state.append({"step": int(s["step"].item()), "exp_avg": tensor(s["exp_avg"]),
                      "exp_avg_sq": tensor(s["exp_avg_sq"]),
                      "max_exp_avg_sq": tensor(s["max_exp_avg_sq"]) if "max_exp_avg_sq" in s
                      else None})
    return {
        "optimizer": cls.__name__,
        "options": {**options, "betas": list(options["betas"])},
        "groups": [{"params": indices, "lr": lr, "weight_decay": wd} for indices, lr, wd in groups],
        "params_after_step": after,
        "state": state,
    }


def schedule_case(base_lrs, make):
    params = [torch.zeros(1, requires_grad=True) for _ in base_lrs]
    opt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, base_lrs)], lr=1.0)
    scheduler = make(opt)
    lrs = [[g["lr"] for g in opt.param_groups]]
    for _ in range(EPOCHS):
        opt.step()
        scheduler.step()
        lrs.append([g["lr"] for g in opt.param_groups])
    return {"base_lrs": base_lrs, "last_epoch": scheduler.last_epoch, "lrs": lrs}


def resume_case(base_lrs, make_saved, make_fresh, saved_epochs, total_epochs):
    """make_saved / make_fresh: optimizer -> schedule (the fresh one with other settings)."""
    def fresh_optimizer():
        params = [torch.zeros(1, requires_grad=True) for _ in base_lrs]
        return torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, base_lrs)],
                               lr=1.0)
    opt = fresh_optimizer()
    scheduler = make_saved(opt)
    for _ in range(saved_epochs):
        opt.step()
        scheduler.step()
    saved = copy.deepcopy(scheduler.state_dict())
    saved_opt = copy.deepcopy(opt.state_dict())
    opt = fresh_optimizer()
    scheduler = make_fresh(opt)
    opt.load_state_dict(saved_opt)
    scheduler.load_state_dict(saved)
    lrs = []
    for _ in range(saved_epochs, total_epochs):
        opt.step()
        scheduler.step()
        lrs.append([g["lr"] for g in opt.param_groups])
    state = {k: v for k, v in saved.items() if k in
             ("last_epoch", "_step_count", "base_lrs", "_last_lr", "T_max", "eta_min",
              "step_size", "gamma")}
    return {"base_lrs": base_lrs, "saved_epochs": saved_epochs, "saved_state": state,
            "lrs_after_resume": lrs}


def main():
    torch.manual_seed(4321)
    params = [torch.randn(3, 4), torch.randn(4)]
    grads = [[torch.randn(3, 4), torch.randn(4)] for _ in range(STEPS)]

    sgd = {}
    one_group = [([0, 1], None, None)]
    for momentum in (0.0, 0.9):
        for dampening in (0.0, 0.5):
            for wd in (0.0, 1e-2):
                name = f"momentum={momentum} dampening={dampening} weight_decay={wd}"
                sgd[name] = sgd_case(params, grads, one_group, {
                    "lr": 0.1, "momentum": momentum, "dampening": dampening,
                    "weight_decay": wd, "nesterov": False})
    for wd in (0.0, 1e-2):
        sgd[f"nesterov weight_decay={wd}"] = sgd_case(params, grads, one_group, {
            "lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": wd, "nesterov": True})
    # The weight decays with the default settings; the bias has its own lr and no decay.
    sgd["two groups"] = sgd_case(params, grads, [([0], None, None), ([1], 0.05, 0.0)], {
        "lr": 0.1, "momentum": 0.9, "dampening": 0.0, "weight_decay": 1e-2, "nesterov": False})

    adam = {}
    base = {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False}
    for cls in (torch.optim.Adam, torch.optim.AdamW):
        for wd in (0.0, 1e-2):
            adam[f"{cls.__name__} weight_decay={wd}"] = adam_case(
                cls, params, grads, one_group, {**base, "weight_decay": wd})
        adam[f"{cls.__name__} amsgrad betas=(0.8, 0.99) eps=1e-3"] = adam_case(
            cls, params, grads, one_group,
            {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-3, "weight_decay": 0.1, "amsgrad": True})
        # As decay_groups() groups them: the matrix decays, the vector does not; its own lr.
        adam[f"{cls.__name__} two groups"] = adam_case(
            cls, params, grads, [([0], None, None), ([1], 0.02, 0.0)],
            {**base, "weight_decay": 0.1})

    schedules = {
        "StepLR step_size=3 gamma=0.5": schedule_case(
            [0.1, 0.02], lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
        "StepLR step_size=4": schedule_case(
            [0.3], lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4)),
        "CosineAnnealingLR T_max=5 eta_min=0.001": schedule_case(
            [0.1, 0.02],
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=0.001)),
        "CosineAnnealingLR T_max=12": schedule_case(
            [0.1], lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=12)),
    }

    resumes = {
        "CosineAnnealingLR T_max=10 eta_min=0.001 into T_max=15": resume_case(
            [0.1, 0.02],
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=15), 6, 15),
        "StepLR step_size=3 gamma=0.5 into step_size=5": resume_case(
            [0.3], lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
            lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=5), 4, 12),
    }

    text = json.dumps({"generator": "scripts/fixtures_optim.py", "torch": torch.__version__,
                       "initial_params": [tensor(p) for p in params],
                       "grads": [[tensor(g) for g in step] for step in grads],
                       "sgd": sgd, "adam": adam, "schedules": schedules, "resumes": resumes}, indent=1)
    # One line per list of numbers, so the file stays short and diffs stay readable.
    text = re.sub(r"\[[-0-9.e,\s]*\]", lambda m: re.sub(r"\s+", "", m.group(0)), text)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
