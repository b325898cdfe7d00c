
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
            cand manifest 'Commands related to Istio manifests'
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
        &'ferryctl;manifest'= {
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
            cand diff 'Compare manifests and generate diff'
        }
        &'ferryctl;manifest;diff'= {
            cand --select 'Constrain the list of resources to compare to only the ones in this list, ignoring all others. Comma-separated "Kind:namespace:name" items where "*" (or an empty part) matches anything, e.g. "Deployment:istio-system:*" (all Deployments in istio-system) or "Service:*:istiod" (Services called istiod in all namespaces)'
            cand --ignore 'Ignore all listed items during comparison, using the same list format as --select; a fourth part ignores a field path inside the matching objects, e.g. "Deployment:*:*:metadata.labels*"'
            cand --rename 'Rename resources of A before comparison: comma-separated A->B pairs, e.g. "Service:*:istiod->Service:*:istio-control" (rename the istiod Service to istio-control)'
            cand -c 'Kubernetes configuration file'
            cand --kubeconfig 'Kubernetes configuration file'
            cand --context 'Kubernetes configuration context'
            cand -n 'Kubernetes namespace'
            cand --namespace 'Kubernetes namespace'
            cand -i 'Istio system namespace'
            cand --istioNamespace 'Istio system namespace'
            cand -r 'Compare directory'
            cand --directory 'Compare directory'
            cand -v 'Verbose output'
            cand --verbose 'Verbose output'
            cand -h 'Print help'
            cand --help 'Print help'
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
