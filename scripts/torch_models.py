"""torch_models.py: PyTorch twins of the dermfuse models that scripts/bench_pytorch.py and
scripts/train_pytorch.py time, layer for layer as train/model/model.c builds them.

  VGG(meta_dim=0)   df_model_spec_default: 4 blocks conv3x3 (no bias)-BN-ReLU-maxpool 32/64/128/256, global
                    average pooling, one linear layer; with meta_dim > 0 a metadata MLP (meta_dim -> 64 -> 32,
                    ReLU) concatenated after the pooled features (intermediate fusion)
  ResNet18()        backbone resnet with an ImageNet stem (stem_stride 2): 7x7/2 conv-BN-ReLU, 3x3/2 max-pool
                    (padding 1), basic blocks 2,2,2,2 of widths 64/128/256/512, the first block of stages 2-4 at
                    stride 2 with a 1x1/2 conv-BN projection shortcut, global average pooling, one linear layer;
                    torchvision's resnet18 with a n_classes head

Convolutions before a batch norm carry no bias (the norm's shift makes it redundant), as in dermfuse.
count_parameters() counts what dermfuse counts as parameters (weights, biases, BN scale and shift, not the
running statistics), so the two sides' counts can be compared number for number."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class VGG(nn.Module):
    def __init__(self, meta_dim=0, n_classes=2, widths=(32, 64, 128, 256), in_channels=3):
        super().__init__()
        layers, c = [], in_channels
        for w in widths:
            layers += [nn.Conv2d(c, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2)]
            c = w
        self.backbone = nn.Sequential(*layers)
        self.meta = (nn.Sequential(nn.Linear(meta_dim, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
                     if meta_dim else None)
        self.head = nn.Linear(c + (32 if meta_dim else 0), n_classes)

    def forward(self, x, meta=None):
        f = self.backbone(x).mean(dim=(2, 3))
        if self.meta is not None:
            f = torch.cat([f, self.meta(meta)], dim=1)
        return self.head(f)


class BasicBlock(nn.Module):
    """relu(bn(conv3x3(relu(bn(conv3x3/stride(x))))) + shortcut(x)), shortcut a 1x1/stride conv-BN where the
    shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                               nn.ReLU(inplace=True))
        self.b = nn.Sequential(nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
        self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                     if stride != 1 or cin != cout else None)

    def forward(self, x):
        return F.relu(self.b(self.a(x)) + (self.down(x) if self.down is not None else x))


class ResNet18(nn.Module):
    def __init__(self, n_classes=2, widths=(64, 128, 256, 512), depth=(2, 2, 2, 2), stem=64, in_channels=3):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, stem, 7, 2, 3, bias=False), nn.BatchNorm2d(stem),
                                  nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1))
        blocks, c = [], stem
        for s, (w, d) in enumerate(zip(widths, depth)):
            for b in range(d):
                blocks.append(BasicBlock(c, w, 2 if s > 0 and b == 0 else 1))
                c = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Linear(c, n_classes)

    def forward(self, x, meta=None):
        return self.head(self.blocks(self.stem(x)).mean(dim=(2, 3)))


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())
