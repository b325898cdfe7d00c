
use builtin;
use str;

set edit:completion:arg-completer[ferryctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'ferryctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'ferryctl'= {
            cand -c 'Kubernetes configuration file'
            cand --kubeconfig 'Kubernetes configuration file'
            cand --context 'Kubernetes configuration context'
            cand -n 'Kubernetes namespace'
            cand --namespace 'Kubernetes namespace'
            cand -i 'Istio system namespace'
            cand --istioNamespace 'Istio system namespace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand analyze 'Analyze Istio configuration and print validation messages'
            cand profile 'Commands related to Istio configuration profiles'
            cand version 'Prints out build version information'
            cand completion 'Generate the autocompletion script for the specified shell'
        }
        &'ferryctl;analyze'= {
            cand -k 'Use live Kubernetes cluster for analysis. Set --use-kube=false to analyze files only'
            cand --use-kube 'Use live Kubernetes cluster for analysis. Set --use-kube=false to analyze files only'
            cand -o 'Output format: one of log|json|yaml|sarif'
            cand --output 'Output format: one of log|json|yaml|sarif'
            cand --failure-threshold 'The severity level of analysis at which to set a non-zero exit code. Valid values: [Info Warning Error]'
            cand --output-threshold 'The severity level of analysis at which to display messages. Valid values: [Info Warning Error]'
            cand -S 'Suppress reporting a message code on a resource: "<code>=<resource glob>", e.g. "IST0102=Namespace frod" (repeatable)'
            cand --suppress 'Suppress reporting a message code on a resource: "<code>=<resource glob>", e.g. "IST0102=Namespace frod" (repeatable)'
            cand --meshConfigFile 'Overrides the mesh config values to use for analysis'
            cand --analyzer 'Select specific analyzers to run, e.g. "gateway.SecretAnalyzer" (repeatable); unknown names select all'
            cand --color 'Default true. Disable with ''=false'' or set $TERM to dumb (NO_COLOR also disables it)'
            cand --timeout 'The duration to wait before failing'
            cand --exclude-namespaces 'Skip these namespaces (comma-separated, repeatable)'
            cand -r 'Analyze with the mesh config of this control plane revision (ConfigMap istio-<rev>)'
            cand --revision 'Analyze with the mesh config of this control plane revision (ConfigMap istio-<rev>)'
            cand -c 'Kubernetes configuration file'
            cand --kubeconfig 'Kubernetes configuration file'
            cand --context 'Kubernetes configuration context'
            cand -n 'Kubernetes namespace'
            cand --namespace 'Kubernetes namespace'
            cand -i 'Istio system namespace'
            cand --istioNamespace 'Istio system namespace'
            cand -A 'Analyze all namespaces'
            cand --all-namespaces 'Analyze all namespaces'
            cand -L 'List the analyzers available to run. Suppresses normal execution'
            cand --list-analyzers 'List the analyzers available to run. Suppresses normal execution'
            cand -v 'Enable verbose output'
            cand --verbose 'Enable verbose output'
            cand --ignore-unknown 'Don''t output files that could not be parsed, and don''t fail because of them'
            cand -R '[Removed: the recursive flag has been removed and is hardcoded to true] Process directory arguments recursively'
            cand --recursive '[Removed: the recursive flag has been removed and is hardcoded to true] Process directory arguments recursively'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ferryctl;profile'= {
            cand -c 'Kubernetes configuration file'
            cand --kubeconfig 'Kubernetes configuration file'
            cand --context 'Kubernetes configuration context'
            cand -n 'Kubernetes namespace'
            cand --namespace 'Kubernetes namespace'
            cand -i 'Istio system namespace'
            cand --istioNamespace 'Istio system namespace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'Lists available Istio configuration profiles'
            cand dump 'Dumps an Istio configuration profile'
            cand diff 'Diffs two Istio configuration profiles'
        }
        &'ferryctl;profile;list'= {
            cand -o 'Output format: one of json|yaml (default: istioctl''s list)'
            cand --output 'Output format: one of json|yaml (default: istioctl''s list)'
            cand -d 'Not supported: Ferry''s profiles and manifests are built into ferryctl'
            cand --manifests 'Not supported: Ferry''s profiles and manifests are built into ferryctl'
            cand -c 'Kubernetes configuration file'
            cand --kubeconfig 'Kubernetes configuration file'
            cand --context 'Kubernetes configuration context'
            cand -n 'Kubernetes namespace'
            cand --namespace 'Kubernetes namespace'
            cand -i 'Istio system namespace'
            cand --istioNamespace 'Istio system namespace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ferryctl;profile;dump'= {
            cand -f 'Path to file containing IstioOperator custom resource. This flag can be specified multiple times to overlay multiple files. Multiple files are overlaid in left to right order; - reads standard input'
            cand --filename 'Path to file containing IstioOperator custom resource. This flag can be specified multiple times to overlay multiple files. Multiple files are overlaid in left to right order; - reads standard input'
            cand -s 'Override an IstioOperator value, e.g. to choose a profile (--set profile=demo), enable or disable components (--set components.egressGateways[0].enabled=true), or override Istio settings (--set meshConfig.enableTracing=true). The values Ferry honours are listed in its README'
            cand --set 'Override an IstioOperator value, e.g. to choose a profile (--set profile=demo), enable or disable components (--set components.egressGateways[0].enabled=true), or override Istio settings (--set meshConfig.enableTracing=true). The values Ferry honours are listed in its README'
            cand -p 'The path the root of the configuration subtree to dump e.g. components.pilot. By default, dump whole tree'
            cand --config-path 'The path the root of the configuration subtree to dump e.g. components.pilot. By default, dump whole tree'
            cand -o 'Output format: one of json|yaml|flags'
            cand --output 'Output format: one of json|yaml|flags'
            cand -d 'Not supported: Ferry''s profiles and manifests are built into ferryctl'
            cand --manifests 'Not supported: Ferry''s profiles and manifests are built into ferryctl'
            cand -c 'Kubernetes configuration file'
            cand --kubeconfig 'Kubernetes configuration file'
            cand --context 'Kubernetes configuration context'
            cand -n 'Kubernetes namespace'
            cand --namespace 'Kubernetes namespace'
            cand -i 'Istio system namespace'
            cand --istioNamespace 'Istio system namespace'
            cand --force 'Proceed even with validation errors: unknown fields and bad values are dropped with a warning'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ferryctl;profile;diff'= {
            cand -d 'Not supported: Ferry''s profiles and manifests are built into ferryctl'
            cand --manifests 'Not supported: Ferry''s profiles and manifests are built into ferryctl'
            cand -c 'Kubernetes configuration file'
            cand --kubeconfig 'Kubernetes configuration file'
            cand --context 'Kubernetes configuration context'
            cand -n 'Kubernetes namespace'
            cand --namespace 'Kubernetes namespace'
            cand -i 'Istio system namespace'
            cand --istioNamespace 'Istio system namespace'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ferryctl;version'= {
            cand -s 'Use --short=false to generate full version information'
            cand --short 'Use --short=false to generate full version information'
            cand -o 'One of ''yaml'' or ''json'''
            cand --output 'One of ''yaml'' or ''json'''
            cand --remote 'Query the control plane for its version. Ferry''s control plane is not built yet, so only --remote=false is accepted'
            cand -c 'Kubernetes configuration file'
            cand --kubeconfig 'Kubernetes configuration file'
            cand --context 'Kubernetes configuration context'
            cand -n 'Kubernetes namespace'
            cand --namespace 'Kubernetes namespace'
            cand -i 'Istio system namespace'
            cand --istioNamespace 'Istio system namespace'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ferryctl;completion'= {
            cand -c 'Kubernetes configuration file'
            cand --kubeconfig 'Kubernetes configuration file'
            cand --context 'Kubernetes configuration context'
            cand -n 'Kubernetes namespace'
            cand --namespace 'Kubernetes namespace'
            cand -i 'Istio system namespace'
            cand --istioNamespace 'Istio system namespace'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
