// Times every Bokeh control that runs a CustomJS callback on a property change.
// Evaluated by benchmarks/pageload.py with page.evaluate(source, options) once
// every figure has rendered. For each control it makes `changes` changes and
// records, per change:
//   callback_ms  time spent inside the CustomJS functions the change ran
//   output_ms    from the setter call until the callbacks had returned (their
//                DOM and data-source writes are synchronous inside them)
//   repaint_ms   from the setter call until the end of the first Bokeh canvas
//                repaint after it (PlotView.repaint, which BokehJS runs in a
//                requestAnimationFrame callback)
//   frames       animation frames that started between the setter call and
//                that repaint: 1 means the repaint landed in the next frame
// BokehJS runs a CustomJS asynchronously (CustomJS.execute awaits its compiled
// function), so the callback finishes after the setter returns; the timings
// wait for the wrapped function to return instead of for the setter.
async ({ changes, gapFrames }) => {

  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => resolve(performance.now())));

  function entriesOf(mapping) {
    if (mapping == null) return [];
    return mapping instanceof Map ? [...mapping.entries()] : Object.entries(mapping);
  }

  function allModels(doc) {
    if (doc.all_models) return [...doc.all_models];
    return [...doc._all_models.values()];
  }

  function* walkViews(view) {
    yield view;
    if (typeof view.children === "function") {
      for (const child of view.children()) yield* walkViews(child);
    }
  }

  // Count animation frames while measuring. This callback is registered before
  // any repaint a change requests, so it runs first within each frame.
  let frameCount = 0;
  let counting = true;
  const countFrames = () => { frameCount += 1; if (counting) requestAnimationFrame(countFrames); };
  requestAnimationFrame(countFrames);

  // Record when each plot view finishes a repaint.
  let lastRepaint = 0;
  let repaintFrame = 0;
  for (const root of Bokeh.index.roots) {
    for (const view of walkViews(root)) {
      if (typeof view.repaint === "function" && view.throttled_paint && !view.__timed) {
        const repaint = view.repaint;
        view.repaint = function (...args) {
          const result = repaint.apply(this, args);
          lastRepaint = performance.now();
          repaintFrame = frameCount;
          return result;
        };
        view.__timed = true;
      }
    }
  }

  // Wrap each CustomJS's compiled function so that its run time is recorded.
  let callbackTime = 0;
  let callbacksRun = 0;
  let callbackEnded = 0;
  async function instrument(callback) {
    if (callback.__timed || typeof callback.compile !== "function") return;
    await callback.compile();
    const state = callback._state;
    const func = state.func;
    state.func = function (...args) {
      const started = performance.now();
      try {
        return func.apply(this, args);
      } finally {
        const ended = performance.now();
        callbackTime += ended - started;
        callbacksRun += 1;
        callbackEnded = ended;
      }
    };
    callback.__timed = true;
  }

  // The values a control cycles through, as [attribute, values].
  function valuesFor(model) {
    const type = model.type || model.constructor.__name__;
    if ("start" in model && "end" in model && "step" in model && typeof model.value === "number") {
      const values = [];
      const count = Math.round((model.end - model.start) / model.step);
      for (let i = 0; i <= count; i++) values.push(model.start + i * model.step);
      return ["value", values];
    }
    if ("categories" in model && "value" in model) {
      return ["value", [...model.categories]];
    }
    if ("options" in model && "value" in model && !Array.isArray(model.value)) {
      // Grouped options (<optgroup>) arrive as a Map or object of lists.
      const options = Array.isArray(model.options) ? model.options
        : (model.options instanceof Map ? [...model.options.values()] : Object.values(model.options)).flat();
      return ["value", options.map((option) => (Array.isArray(option) ? option[0] : option))];
    }
    if ("labels" in model && typeof model.active === "number") {
      return ["active", model.labels.map((_, i) => i)];
    }
    if ("labels" in model && Array.isArray(model.active)) {
      return ["active", model.labels.map((_, i) => [i])];
    }
    if (typeof model.active === "boolean") {
      return ["active", [true, false]];
    }
    if ("low" in model && "high" in model && typeof model.value === "number" && model.low != null && model.high != null) {
      const step = model.step || 1;
      const values = [];
      for (let v = model.low; v <= model.high; v += step) values.push(v);
      return ["value", values];
    }
    return [null, [], type];
  }

  // A back-and-forth walk over the values, so every change is a real change.
  function sequence(values, count, start) {
    const walk = values.concat(values.slice(1, -1).reverse());
    let offset = Math.max(0, walk.findIndex((v) => JSON.stringify(v) === JSON.stringify(start)));
    const result = [];
    while (result.length < count) {
      offset = (offset + 1) % walk.length;
      result.push(walk[offset]);
    }
    return result;
  }

  const results = [];
  for (const doc of Bokeh.documents) {
    for (const model of allModels(doc)) {
      const callbacks = entriesOf(model.js_property_callbacks);
      if (callbacks.length === 0) continue;
      let attribute, values, unknownType;
      try {
        [attribute, values, unknownType] = valuesFor(model);
      } catch (error) {
        results.push({ control: model.name || model.id, type: model.type, skipped: `no value sequence: ${error}` });
        continue;
      }
      const label = model.name || `${model.type}:${model.id}`;
      const root = doc.roots()[0];
      const figure = root && root.id ? root.id.replace(/-\d+$/, "") : "";
      if (!attribute || values.length < 2) {
        results.push({ control: label, figure, type: model.type, skipped: `no value sequence for ${unknownType || model.type}` });
        continue;
      }
      for (const [, list] of callbacks) for (const callback of list) await instrument(callback);

      const original = model[attribute];
      const samples = [];
      for (const value of sequence(values, changes, original)) {
        for (let i = 0; i < gapFrames; i++) await nextFrame();
        callbackTime = 0;
        callbacksRun = 0;
        callbackEnded = 0;
        const framesBefore = frameCount;
        const repaintBefore = lastRepaint;
        const started = performance.now();
        model[attribute] = value;
        // Wait for the callbacks (they run after the setter, on later microtasks)
        // and for the repaint they request. A callback that requests no repaint
        // is done once 3 frames pass without one; 2 s is the limit per change.
        const deadline = started + 2000;
        let framesAfterCallback = 0;
        while (performance.now() < deadline) {
          await nextFrame();
          if (callbacksRun > 0 && lastRepaint > started) break;
          if (callbacksRun > 0 && ++framesAfterCallback >= 3) break;
        }
        // A callback that updates only the page's DOM does not repaint a canvas.
        const repainted = lastRepaint > repaintBefore && lastRepaint > started;
        samples.push({
          callback_ms: callbackTime,
          output_ms: callbacksRun > 0 ? callbackEnded - started : null,
          repaint_ms: repainted ? lastRepaint - started : null,
          frames: repainted ? repaintFrame - framesBefore : null,
          callbacks: callbacksRun,
        });
      }
      model[attribute] = original;
      await nextFrame();
      await nextFrame();
      results.push({ control: label, figure, type: model.type, attribute, values: values.length, samples });
    }
  }
  counting = false;
  return results;
}
