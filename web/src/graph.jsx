// The attacker's traversal graph across deckies, drawn with cytoscape on a canvas.
// Node labels are attacker-independent where possible (decky names come from the
// fleet) and are passed through safeString either way; cytoscape draws them as
// pixels.
import { useEffect, useRef } from 'preact/hooks';
import cytoscape from 'cytoscape';
import { hopEdges, stepsLabel } from './model.js';
import { safeString } from './text.js';

export function TraversalGraph({ attackerIP, sequence }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current) return undefined;
    const elements = [{ data: { id: 'attacker', label: safeString(attackerIP).slice(0, 46), kind: 'attacker' } }];
    const seen = new Set();
    sequence.forEach((d) => {
      const id = 'd:' + d;
      if (!seen.has(id)) {
        seen.add(id);
        elements.push({ data: { id, label: safeString(d).slice(0, 40), kind: 'decky' } });
      }
    });
    // One edge per hop direction, labelled with the hop numbers (in order).
    hopEdges(sequence).forEach((e, n) => {
      const source = e.source === null ? 'attacker' : 'd:' + e.source;
      elements.push({ data: { id: 'e' + n, source, target: 'd:' + e.target, label: stepsLabel(e.steps) } });
    });
    const cy = cytoscape({
      container: box.current,
      elements,
      userZoomingEnabled: true,
      boxSelectionEnabled: false,
      autounselectify: true,
      style: [
        { selector: 'node', style: { label: 'data(label)', color: '#d6dde8', 'font-size': 12, 'text-valign': 'center', 'text-halign': 'right', 'text-margin-x': 10, 'background-color': '#3f8cff', width: 24, height: 24 } },
        { selector: 'node[kind = "attacker"]', style: { 'background-color': '#ef4444', shape: 'diamond' } },
        { selector: 'edge', style: { width: 2, 'line-color': '#64748b', 'target-arrow-color': '#64748b', 'target-arrow-shape': 'triangle', 'curve-style': 'bezier', 'control-point-step-size': 110, label: 'data(label)', 'font-size': 11, color: '#fbbf24', 'text-background-color': '#111822', 'text-background-opacity': 1, 'text-background-padding': 2 } },
      ],
      layout: { name: 'breadthfirst', directed: true, roots: ['attacker'], spacingFactor: 1.4, padding: 24 },
    });
    return () => cy.destroy();
  }, [attackerIP, sequence.join('\u0000')]);
  return <div class="graph-box" ref={box} data-testid="traversal-graph" />;
}
