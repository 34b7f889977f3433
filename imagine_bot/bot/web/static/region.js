// The Vary (Region) editor: mark a region with rectangles, lasso shapes or brush strokes,
// then send it as a PNG mask (white = repaint) with the prompt. No libraries, no build step.
"use strict";

const form = document.getElementById("editor");
const canvas = document.getElementById("marks");
const context = canvas.getContext("2d");
const undoButton = document.getElementById("undo");
const submitButton = document.getElementById("submit");
const status = document.getElementById("status");
const width = Number(form.dataset.width);
const height = Number(form.dataset.height);
const brushRadius = Math.max(4, Math.round(Math.min(width, height) / 24));

const shapes = [];  // every finished mark, in order, so Undo can drop the last one
let tool = "rect";
let drawing = null;  // the mark under the pointer

for (const button of document.querySelectorAll("[data-tool]")) {
  button.addEventListener("click", () => {
    tool = button.dataset.tool;
    for (const other of document.querySelectorAll("[data-tool]")) {
      other.setAttribute("aria-pressed", String(other === button));
    }
  });
}

// Pointer position in image pixels, whatever size the canvas is shown at.
function point(event) {
  const box = canvas.getBoundingClientRect();
  return {
    x: Math.min(width, Math.max(0, ((event.clientX - box.left) * width) / box.width)),
    y: Math.min(height, Math.max(0, ((event.clientY - box.top) * height) / box.height)),
  };
}

function trace(target, shape) {
  target.beginPath();
  if (shape.tool === "rect") {
    const [a, b] = [shape.points[0], shape.points[shape.points.length - 1]];
    target.rect(Math.min(a.x, b.x), Math.min(a.y, b.y), Math.abs(b.x - a.x), Math.abs(b.y - a.y));
    target.fill();
  } else if (shape.tool === "lasso") {
    shape.points.forEach((p, i) => (i ? target.lineTo(p.x, p.y) : target.moveTo(p.x, p.y)));
    target.closePath();
    target.fill();
  } else {
    target.lineWidth = brushRadius * 2;
    target.lineCap = target.lineJoin = "round";
    shape.points.forEach((p, i) => (i ? target.lineTo(p.x, p.y) : target.moveTo(p.x, p.y)));
    if (shape.points.length === 1) target.lineTo(shape.points[0].x + 0.1, shape.points[0].y);
    target.stroke();
  }
}

function paint(target, colour, all) {
  target.fillStyle = target.strokeStyle = colour;
  for (const shape of all) trace(target, shape);
}

// Once something is marked, the rest of the image is veiled, so the region stands out on
// any picture; the veil's strength is the canvas's CSS opacity.
function redraw() {
  const marks = drawing ? [...shapes, drawing] : shapes;
  context.globalCompositeOperation = "source-over";
  context.clearRect(0, 0, width, height);
  if (marks.length) {
    context.fillStyle = "#000";
    context.fillRect(0, 0, width, height);
    context.globalCompositeOperation = "destination-out";
    paint(context, "#000", marks);
  }
  undoButton.disabled = shapes.length === 0;
  submitButton.disabled = shapes.length === 0;
}

canvas.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  drawing = { tool, points: [point(event)] };
  redraw();
});
canvas.addEventListener("pointermove", (event) => {
  if (!drawing) return;
  const p = point(event);
  if (drawing.tool === "rect") drawing.points = [drawing.points[0], p];
  else drawing.points.push(p);
  redraw();
});
function finish(event) {
  if (!drawing) return;
  if (event.type === "pointerup") shapes.push(drawing);
  drawing = null;
  redraw();
}
canvas.addEventListener("pointerup", finish);
canvas.addEventListener("pointercancel", finish);

undoButton.addEventListener("click", () => {
  shapes.pop();
  redraw();
});

// The mask at the image's own size: black everywhere, white where marked.
function maskBlob() {
  const mask = document.createElement("canvas");
  mask.width = width;
  mask.height = height;
  const target = mask.getContext("2d");
  target.fillStyle = "#000";
  target.fillRect(0, 0, width, height);
  paint(target, "#fff", shapes);
  return new Promise((resolve) => mask.toBlob(resolve, "image/png"));
}

// The server answers in one sentence: plain text, or a short HTML page for a refused link.
async function answerText(response) {
  const text = await response.text();
  if (!(response.headers.get("content-type") || "").includes("html")) return text;
  const page = new DOMParser().parseFromString(text, "text/html");
  return (page.querySelector("p") || page.body).textContent;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  submitButton.disabled = true;
  status.className = "";
  status.textContent = "Sending…";
  const body = new FormData();
  body.append("prompt", document.getElementById("prompt").value);
  body.append("mask", await maskBlob(), "mask.png");
  try {
    const response = await fetch(form.action, { method: "POST", body });
    status.textContent = await answerText(response);
    status.className = response.ok ? "done" : "error";
    submitButton.disabled = response.ok;
  } catch (error) {
    status.textContent = "The server could not be reached; try again.";
    status.className = "error";
    submitButton.disabled = false;
  }
});

redraw();
