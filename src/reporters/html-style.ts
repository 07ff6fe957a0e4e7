// The stylesheet of report.html and the run index, inlined into each page so
// the file stands alone (no fonts, no images: system fonts only).

export const STYLE = `
:root{--fg:#1d2330;--muted:#5f6b7a;--line:#d9dee5;--bg:#fff;--soft:#f5f7fa;
--pass:#1a7f37;--fail:#cf222e;--crash:#8250df;--hang:#bc4c00;--build:#9a6700;--error:#a40e26;--skip:#6e7781}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1120px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 10px;padding-top:8px;border-top:1px solid var(--line)}
h3{font-size:14px;margin:18px 0 6px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
a{color:#0969da}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:10px 12px;overflow:auto;white-space:pre-wrap;word-break:break-all;margin:6px 0}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--soft);font-weight:600;font-size:12.5px;color:#3d4754}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td.num{white-space:nowrap}
td.val{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12.5px;overflow-wrap:anywhere;max-width:320px}
tr.bad td{background:#fff5f5}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
.badge.big{font-size:15px;padding:3px 14px;border-radius:14px;vertical-align:3px;margin-left:8px}
.v-pass{background:var(--pass)}.v-fail{background:var(--fail)}.v-crash{background:var(--crash)}.v-hang{background:var(--hang)}.v-sanitizer{background:var(--crash)}
.v-build-error{background:var(--build)}.v-error{background:var(--error)}.v-skipped,.v-unknown{background:var(--skip)}
.muted{color:var(--muted)}.nowrap{white-space:nowrap}
dl.facts{display:grid;grid-template-columns:max-content 1fr max-content 1fr;gap:2px 14px;margin:10px 0 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;word-break:break-all}
.reason{margin:4px 0 8px;padding:6px 10px;border-left:4px solid var(--fail);background:#fff5f5}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:0 24px}
@media (max-width:800px){.grid2{grid-template-columns:1fr}dl.facts{grid-template-columns:max-content 1fr}}
.event{border:1px solid #f1b8bd;border-left:4px solid var(--fail);border-radius:6px;padding:6px 10px;margin:8px 0;background:#fffafa}
.event pre{max-height:260px}
.failure{border-left:4px solid var(--fail);padding:2px 12px;margin:8px 0;background:#fffafa}
.failure h3{text-transform:none;letter-spacing:0;color:var(--fg);margin:8px 0 4px}.failure ul{margin:4px 0 8px;padding-left:20px}
details>summary{cursor:pointer;color:#0969da;margin:6px 0}
pre.console{max-height:640px;background:#0f141a;color:#d8dee9;border-color:#0f141a;white-space:pre-wrap;word-break:normal;overflow-wrap:anywhere}
pre.console .ev{background:#6e1b23;color:#fff;display:inline-block;min-width:100%}
pre.console .fault{background:#4a3a10;color:#ffe7a3;display:inline-block;min-width:100%}
svg.chart{max-width:100%;height:auto;background:#fff}
svg.chart .grid{stroke:#e6e9ee}svg.chart .tick,svg.chart .axis,svg.chart .label{font:11px system-ui,sans-serif;fill:#5f6b7a}
svg.chart .series{fill:none;stroke:#8fb4e3;stroke-width:1.5}svg.chart .point{fill:#0969da}
svg.chart .median{stroke:var(--pass);stroke-dasharray:5 4}svg.chart .p95{stroke:var(--hang);stroke-dasharray:2 3}
svg.chart .median-t{fill:var(--pass)}svg.chart .p95-t{fill:var(--hang)}
svg.spark rect{fill:#0969da}svg.spark line{stroke:#c8ced6}
.bar{display:inline-block;height:9px;background:#8fb4e3;border-radius:2px;vertical-align:middle}
.warn{color:var(--build)}
.bad-text{color:var(--fail);font-weight:600}.good-text{color:var(--pass)}
footer{margin-top:36px;color:var(--muted);font-size:12px}
`;
