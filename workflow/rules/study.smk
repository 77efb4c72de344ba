"""The user-study kit (Table 1): the study page from one run per task, and the analysis of its responses."""


rule study_stimuli:
    input:
        **plan_targets.study_inputs(PLAN),
    output:
        **with_prov(
            page=report(
                "results/study/index.html",
                caption="../report/study_page.rst",
                category="User study",
                labels={"file": "index.html"},
            ),
            stimuli=report(
                "results/study/stimuli.json",
                caption="../report/study_stimuli.rst",
                category="User study",
                labels={"file": "stimuli.json"},
            ),
        ),
    log:
        f"{LOGS}/study_stimuli.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        study=plan_params.study_params(PLAN),
    script:
        "../../scripts/study_stimuli.py"


rule analyze_study:
    input:
        stimuli="results/study/stimuli.json",
        stimuli_prov=prov("results/study/stimuli.json"),
        responses=study_responses(),
    output:
        **with_prov(
            table=report(
                "results/study/analysis.csv",
                caption="../report/study_analysis.rst",
                category="User study",
                labels={"file": "analysis.csv"},
            )
        ),
    log:
        f"{LOGS}/analyze_study.log",
    conda:
        PIPELINE_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../../scripts/analyze_study.py"
